package handlers_test

// Specification of Proxy: a real upstream server, a real gin server
// proxying it, and a client of the proxy, over HTTP/1.1 and HTTP/2.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/sink"
)

// proxyPatience bounds every wait of these tests, so that a broken proxy
// fails the test instead of hanging it. It is a deadlock guard, not a
// performance claim.
const proxyPatience = 10 * time.Second

// proxyVersions are the protocols the proxy's clients speak.
var proxyVersions = []struct {
	name  string
	http2 bool
}{{"HTTP1.1", false}, {"HTTP2", true}}

// proxyBufListener sets the send buffer of every connection it accepts.
type proxyBufListener struct {
	net.Listener
	size int
}

func (l proxyBufListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		err = conn.(*net.TCPConn).SetWriteBuffer(l.size)
	}
	return conn, err
}

// proxyDialer dials TCP connections with a receive buffer of size bytes,
// or the system's default if size is zero.
func proxyDialer(size int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil && size > 0 {
			err = conn.(*net.TCPConn).SetReadBuffer(size)
		}
		return conn, err
	}
}

// proxyUpstream serves h over HTTP/1.1 until the test ends. A bufSize
// above zero sets small send buffers, so that backpressure reaches h
// early.
func proxyUpstream(t *testing.T, h http.HandlerFunc, bufSize int) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if bufSize > 0 {
		srv.Listener = proxyBufListener{srv.Listener, bufSize}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// proxyClient is a client for the proxy's upstream requests, whose idle
// connections are closed when the test ends.
func proxyClient(t *testing.T, bufSize int) *http.Client {
	t.Helper()
	tr := &http.Transport{DialContext: proxyDialer(bufSize)}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// proxyFront serves p at /proxy over HTTP/1.1, or HTTP/2 if http2 is set,
// with gin's Recovery if recovery is set, until the test ends. It returns
// a client of it that neither decodes bodies nor follows redirects, the
// URL of /proxy and the channel of the streams' reports. A bufSize above
// zero sets small socket buffers between the proxy and the client. The
// streams' logs are discarded unless p has a Logger.
func proxyFront(t *testing.T, p *handlers.Proxy, http2, recovery bool, bufSize int) (*http.Client, string, chan sink.Report) {
	t.Helper()
	reports := make(chan sink.Report, 8)
	p.OnReport = func(_ *gin.Context, r sink.Report) { reports <- r }
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	engine := gin.New()
	if recovery {
		engine.Use(gin.Recovery())
	}
	engine.GET("/proxy", p.Handler())
	client, url := loopback.Serve(t, http2, engine, bufSize)
	client.Transport.(*http.Transport).DisableCompression = true
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return client, url + "/proxy", reports
}

// proxyGet sends GET url with header and returns the response, whose body
// is closed when the test ends. Cancelling ctx disconnects the client, and
// so does proxyPatience passing.
func proxyGet(t *testing.T, ctx context.Context, client *http.Client, url string, header http.Header) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, proxyPatience)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// nextReport returns the next stream report, failing the test if none
// comes.
func nextReport(t *testing.T, reports chan sink.Report) sink.Report {
	t.Helper()
	select {
	case r := <-reports:
		return r
	case <-time.After(proxyPatience):
		t.Fatalf("no stream reported within %v", proxyPatience)
		return sink.Report{}
	}
}

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{1, 2, 3}).Read(b)
	return b
}

// writeInPieces writes body in pieces of irregular sizes, flushing after
// each, as a streaming upstream does.
func writeInPieces(w http.ResponseWriter, body []byte) {
	rc := http.NewResponseController(w)
	r := rand.New(rand.NewPCG(1, 2))
	for len(body) > 0 {
		n := min(len(body), 1+r.IntN(96<<10))
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		body = body[n:]
	}
}

// upstreamRequest is what the upstream saw of a proxied request.
type upstreamRequest struct {
	uri    string
	header http.Header
}

// TestProxyPassThrough: the client gets the upstream's status, its
// end-to-end headers and its body byte for byte, compressed or not; the
// hop-by-hop headers and Content-Length are dropped. The upstream gets the
// configured URL whatever the request, and only the client's negotiation
// and conditional headers.
func TestProxyPassThrough(t *testing.T) {
	big := randomBytes(8 << 20)
	var gzipped bytes.Buffer
	zw := gzip.NewWriter(&gzipped)
	zw.Write(big[:1<<20])
	zw.Close()

	cases := []struct {
		name       string
		upstream   http.HandlerFunc
		query      string      // appended to the proxy's URL
		header     http.Header // the client's request headers
		nilClient  bool        // Proxy.Client left nil
		wantStatus int
		wantHeader http.Header // "" values: the header must be absent
		wantBody   []byte
		wantSeen   func(t *testing.T, r upstreamRequest)
	}{{
		name: "a big body streamed in pieces",
		upstream: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			writeInPieces(w, big)
		},
		wantStatus: 200,
		wantHeader: http.Header{"Content-Type": {"application/octet-stream"}},
		wantBody:   big,
	}, {
		name: "201 with end-to-end headers",
		upstream: func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "private, max-age=60")
			h.Set("ETag", `"v1"`)
			h["Set-Cookie"] = []string{"a=1", "b=2"}
			h.Set("X-Request-Id", "42")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"created":true}`)
		},
		wantStatus: 201,
		wantHeader: http.Header{
			"Content-Type":  {"application/json"},
			"Cache-Control": {"private, max-age=60"},
			"Etag":          {`"v1"`},
			"Set-Cookie":    {"a=1", "b=2"},
			"X-Request-Id":  {"42"},
		},
		wantBody: []byte(`{"created":true}`),
	}, {
		name: "404 with its body",
		upstream: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no such thing", http.StatusNotFound)
		},
		wantStatus: 404,
		wantHeader: http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
		wantBody:   []byte("no such thing\n"),
	}, {
		name: "204 without a body",
		upstream: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		},
		wantStatus: 204,
		wantBody:   []byte{},
	}, {
		name: "hop-by-hop headers and Content-Length dropped",
		upstream: func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Connection", "X-Named-Hop, X-Other-Hop")
			h.Set("X-Named-Hop", "1")
			h.Set("X-Other-Hop", "2")
			h.Set("Keep-Alive", "timeout=5")
			h.Set("Proxy-Authenticate", `Basic realm="upstream"`)
			h.Set("Proxy-Whatever", "3")
			h.Set("Te", "trailers")
			h.Set("Upgrade", "h2c")
			h.Set("Content-Length", "11")
			h.Set("X-End-To-End", "kept")
			io.WriteString(w, "hello world")
		},
		wantStatus: 200,
		wantHeader: http.Header{
			"Connection": {""}, "X-Named-Hop": {""}, "X-Other-Hop": {""}, "Keep-Alive": {""},
			"Proxy-Authenticate": {""}, "Proxy-Whatever": {""}, "Te": {""}, "Upgrade": {""},
			"Content-Length": {""}, "X-End-To-End": {"kept"},
		},
		wantBody: []byte("hello world"),
	}, {
		name: "a gzip body passed on as it is",
		upstream: func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept-Encoding") != "gzip" {
				http.Error(w, "want gzip", http.StatusNotAcceptable)
				return
			}
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Vary", "Accept-Encoding")
			writeInPieces(w, gzipped.Bytes())
		},
		header:     http.Header{"Accept-Encoding": {"gzip"}},
		wantStatus: 200,
		wantHeader: http.Header{"Content-Encoding": {"gzip"}, "Vary": {"Accept-Encoding"}},
		wantBody:   gzipped.Bytes(),
	}, {
		name: "no Accept-Encoding: an identity body",
		upstream: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "plain")
		},
		wantStatus: 200,
		wantHeader: http.Header{"Content-Encoding": {""}},
		wantBody:   []byte("plain"),
		wantSeen: func(t *testing.T, r upstreamRequest) {
			if got := r.header.Values("Accept-Encoding"); !slices.Equal(got, []string{"identity"}) {
				t.Errorf("upstream got Accept-Encoding %q; want identity, so that the transport does not decode", got)
			}
		},
	}, {
		name: "the upstream URL is fixed; credentials are not forwarded",
		upstream: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		},
		query: "?url=http://169.254.169.254/&path=/admin",
		header: http.Header{
			"Accept":          {"text/plain"},
			"Accept-Language": {"fr"},
			"If-None-Match":   {`"v1"`},
			"Cookie":          {"session=secret"},
			"Authorization":   {"Bearer secret"},
			"X-Forwarded-For": {"10.0.0.1"},
		},
		wantStatus: 200,
		wantBody:   []byte("ok"),
		wantSeen: func(t *testing.T, r upstreamRequest) {
			if r.uri != "/upstream/path?fixed=1" {
				t.Errorf("upstream got %s; want the configured /upstream/path?fixed=1", r.uri)
			}
			for k, want := range map[string]string{
				"Accept": "text/plain", "Accept-Language": "fr", "If-None-Match": `"v1"`,
				"Cookie": "", "Authorization": "", "X-Forwarded-For": "",
			} {
				if got := r.header.Get(k); got != want {
					t.Errorf("upstream got %s %q; want %q", k, got, want)
				}
			}
		},
	}, {
		name: "a redirect passed on, not followed, by the default client",
		upstream: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		},
		nilClient:  true,
		wantStatus: 302,
		wantHeader: http.Header{"Location": {"/elsewhere"}},
		wantBody:   []byte("<a href=\"/elsewhere\">Found</a>.\n\n"),
	}}
	for _, v := range proxyVersions {
		t.Run(v.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					seen := make(chan upstreamRequest, 1)
					up := proxyUpstream(t, func(w http.ResponseWriter, r *http.Request) {
						seen <- upstreamRequest{r.RequestURI, r.Header.Clone()}
						tc.upstream(w, r)
					}, 0)
					p := &handlers.Proxy{URL: up.URL + "/upstream/path?fixed=1"}
					if !tc.nilClient {
						p.Client = proxyClient(t, 0)
					}
					client, url, reports := proxyFront(t, p, v.http2, true, 0)
					resp := proxyGet(t, t.Context(), client, url+tc.query, tc.header)
					body, err := io.ReadAll(resp.Body)
					if err != nil {
						t.Fatalf("reading the body: %v", err)
					}
					if resp.StatusCode != tc.wantStatus {
						t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
					}
					for k, want := range tc.wantHeader {
						if got := resp.Header.Values(k); !slices.Equal(got, want) && !(want[0] == "" && len(got) == 0) {
							t.Errorf("header %s: %q, want %q", k, got, want)
						}
					}
					if resp.ContentLength != -1 && len(tc.wantBody) > 0 {
						t.Errorf("Content-Length %d; want none, the body is streamed", resp.ContentLength)
					}
					if !bytes.Equal(body, tc.wantBody) {
						t.Errorf("body: %d bytes, want %d (equal up to byte %d)",
							len(body), len(tc.wantBody), commonPrefix(body, tc.wantBody))
					}
					if tc.wantSeen != nil {
						tc.wantSeen(t, <-seen)
					}
					if r := nextReport(t, reports); r.Outcome != sink.Completed || r.Bytes != int64(len(tc.wantBody)) {
						t.Errorf("report: %v, %d bytes (%v); want completed, %d bytes", r.Outcome, r.Bytes, r.Err, len(tc.wantBody))
					}
				})
			}
		})
	}
}

// commonPrefix is the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// TestProxyFailsBeforeBody: an upstream that cannot be reached, or that
// fails before the first byte of its body, is answered with an error
// status and a one-line body that says only the status (and the request's
// id, if it has one), without any of the upstream's headers; what went
// wrong, which may name the upstream, is logged instead.
func TestProxyFailsBeforeBody(t *testing.T) {
	// An address nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/"
	l.Close()

	// hijack answers raw bytes on the connection, then closes it.
	hijack := func(raw string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			buf.WriteString(raw)
			buf.Flush()
			conn.Close()
		}
	}
	// waitForCancel sends nothing until the request is cancelled.
	waitForCancel := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

	cases := []struct {
		name       string
		upstream   http.HandlerFunc // nil: url is used
		url        string
		proxy      handlers.Proxy
		requestID  string // the client's X-Request-Id, if not empty
		wantStatus int
		wantLog    string // a part of the error logged, never in the body
	}{{
		name:       "connection refused",
		url:        refused,
		wantStatus: 502,
		wantLog:    "connection refused",
	}, {
		name:       "connection refused, with a request id",
		url:        refused,
		requestID:  "req-7",
		wantStatus: 502,
		wantLog:    "connection refused",
	}, {
		name:       "no response headers within ResponseHeaderTimeout",
		upstream:   waitForCancel,
		proxy:      handlers.Proxy{ResponseHeaderTimeout: 50 * time.Millisecond},
		wantStatus: 504,
		wantLog:    "no response headers from upstream in time",
	}, {
		name:       "a client timeout",
		upstream:   waitForCancel,
		proxy:      handlers.Proxy{Client: &http.Client{Timeout: 50 * time.Millisecond}},
		wantStatus: 504,
		wantLog:    "Client.Timeout exceeded",
	}, {
		name:       "connection closed without a response",
		upstream:   hijack(""),
		wantStatus: 502,
		wantLog:    "EOF",
	}, {
		name: "connection closed after the headers",
		upstream: hijack("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
			"Set-Cookie: a=1\r\nX-Upstream: yes\r\nContent-Length: 100\r\n\r\n"),
		wantStatus: 502,
		wantLog:    "unexpected EOF",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.proxy
			p.URL = tc.url
			if tc.upstream != nil {
				p.URL = proxyUpstream(t, tc.upstream, 0).URL
			}
			if p.Client == nil {
				p.Client = proxyClient(t, 0)
			}
			// Written on the handler's goroutine before the report is
			// sent, so read after it without a race.
			var log bytes.Buffer
			p.Logger = slog.New(slog.NewTextHandler(&log, nil))
			client, url, reports := proxyFront(t, &p, false, true, 0)
			var header http.Header
			if tc.requestID != "" {
				header = http.Header{"X-Request-Id": {tc.requestID}}
			}
			resp := proxyGet(t, t.Context(), client, url, header)
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading the body: %v", err)
			}
			want := strconv.Itoa(tc.wantStatus) + " " + http.StatusText(tc.wantStatus)
			if tc.requestID != "" {
				want += " (request " + tc.requestID + ")"
			}
			want += "\n"
			if resp.StatusCode != tc.wantStatus || string(body) != want {
				t.Errorf("got %d %q; want %d %q", resp.StatusCode, body, tc.wantStatus, want)
			}
			if strings.Contains(string(body), tc.wantLog) || strings.Contains(string(body), p.URL) {
				t.Errorf("body %q shows the error or the upstream's URL", body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			for _, k := range []string{"Set-Cookie", "X-Upstream"} {
				if v := resp.Header.Get(k); v != "" {
					t.Errorf("upstream header %s: %q passed on with the error", k, v)
				}
			}
			if r := nextReport(t, reports); r.Outcome != sink.Failed || r.Status != tc.wantStatus {
				t.Errorf("report: %v, status %d; want failed, %d", r.Outcome, r.Status, tc.wantStatus)
			}
			logged := log.String()
			if !strings.Contains(logged, "level=ERROR") || !strings.Contains(logged, tc.wantLog) {
				t.Errorf("log %q; want an error naming %q", logged, tc.wantLog)
			}
			if tc.requestID != "" && !strings.Contains(logged, "request_id="+tc.requestID) {
				t.Errorf("log %q; want request_id=%s", logged, tc.requestID)
			}
		})
	}
}

// TestProxyMisconfigured: a Proxy whose URL is not an absolute http or
// https URL panics when its handler is built, before any request.
func TestProxyMisconfigured(t *testing.T) {
	for _, u := range []string{"", "http://[::1", "/relative/path", "example.com/x", "ftp://example.com/x", "http:///no-host"} {
		want := fmt.Sprintf("handlers: Proxy.URL %q is not an absolute http or https URL", u)
		got := func() (v any) {
			defer func() { v = recover() }()
			handlers.Proxy{URL: u}.Handler()
			return nil
		}()
		if got != want {
			t.Errorf("Proxy{URL: %q}.Handler() panicked with %v, want %q", u, got, want)
		}
	}
}

// TestProxyUpstreamResetMidBody: an upstream connection that breaks after
// part of the body gives the client a failed transfer, never a clean end
// that looks complete, with or without gin's Recovery.
func TestProxyUpstreamResetMidBody(t *testing.T) {
	part := randomBytes(100 << 10)
	for _, v := range proxyVersions {
		for _, recovery := range []bool{false, true} {
			name := v.name + " without Recovery"
			if recovery {
				name = v.name + " with Recovery"
			}
			t.Run(name, func(t *testing.T) {
				up := proxyUpstream(t, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/octet-stream")
					w.Write(part)
					conn, _, err := http.NewResponseController(w).Hijack() // flushes part
					if err != nil {
						panic(err)
					}
					conn.Close() // no terminating chunk
				}, 0)
				p := &handlers.Proxy{URL: up.URL, Client: proxyClient(t, 0)}
				client, url, reports := proxyFront(t, p, v.http2, recovery, 0)
				resp := proxyGet(t, t.Context(), client, url, nil)
				body, err := io.ReadAll(resp.Body)
				if err == nil {
					t.Fatalf("the body ended cleanly after %d bytes; want a failed transfer", len(body))
				}
				if !v.http2 && !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("reading the body: %v; want a connection reset", err)
				}
				if resp.StatusCode != 200 || len(body) == 0 || !bytes.HasPrefix(part, body) {
					t.Errorf("status %d, %d bytes of the part sent; want 200 and a prefix of it", resp.StatusCode, len(body))
				}
				if r := nextReport(t, reports); r.Outcome != sink.Failed {
					t.Errorf("report: %v (%v); want failed", r.Outcome, r.Err)
				}
			})
		}
	}
}

// endlessUpstream is an upstream that streams until its request is
// cancelled, counting the bytes it wrote, and says when it has ended.
type endlessUpstream struct {
	written atomic.Int64
	ended   chan error // receives r.Context().Err() when the handler returns
}

func newEndlessUpstream() *endlessUpstream {
	return &endlessUpstream{ended: make(chan error, 1)}
}

// serve writes chunk, flushing after each, until a write fails or the
// request is cancelled, at most limit bytes in all.
func (u *endlessUpstream) serve(chunk []byte, pause time.Duration, limit int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() { u.ended <- r.Context().Err() }()
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "application/octet-stream")
		for u.written.Load() < limit && r.Context().Err() == nil {
			n, err := w.Write(chunk)
			u.written.Add(int64(n))
			if err == nil {
				err = rc.Flush()
			}
			if err != nil {
				return
			}
			if pause > 0 {
				select {
				case <-time.After(pause):
				case <-r.Context().Done():
				}
			}
		}
		<-r.Context().Done() // keep the response open
	}
}

// waitEnded waits for the upstream handler to return, and returns its
// request context's error then.
func (u *endlessUpstream) waitEnded(t *testing.T) error {
	t.Helper()
	select {
	case err := <-u.ended:
		return err
	case <-time.After(proxyPatience):
		t.Fatalf("the upstream's request was not cancelled within %v", proxyPatience)
		return nil
	}
}

// TestProxyCancelsUpstream: the upstream request is cancelled when the
// stream ends early, also while the proxy waits on the upstream: the
// client disconnects, or it stops reading and the stall timeout ends the
// stream, or the stream fails with the client still connected (here, a
// middleware's writer fails a write).
func TestProxyCancelsUpstream(t *testing.T) {
	t.Run("the stream fails while the upstream is quiet", func(t *testing.T) {
		received := make(chan struct{})
		ended := make(chan error, 1)
		up := proxyUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			defer func() { ended <- r.Context().Err() }()
			rc := http.NewResponseController(w)
			io.WriteString(w, "first\n")
			rc.Flush()
			select {
			case <-received:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "second\n") // the encoder fails on it
			rc.Flush()
			<-r.Context().Done()
		}, 0)
		reports := make(chan sink.Report, 1)
		p := handlers.Proxy{URL: up.URL, Client: proxyClient(t, 0), Config: sink.Config{
			OnReport: func(_ *gin.Context, r sink.Report) { reports <- r },
			Logger:   slog.New(slog.DiscardHandler),
		}}
		engine := gin.New()
		engine.Use(gin.Recovery(), func(c *gin.Context) {
			c.Writer = &failsAfterFirst{ResponseWriter: c.Writer}
		})
		engine.GET("/proxy", p.Handler())
		client, base := loopback.Serve(t, false, engine, 0)
		resp := proxyGet(t, t.Context(), client, base+"/proxy", nil)
		br := bufio.NewReader(resp.Body)
		if line, err := br.ReadString('\n'); line != "first\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		close(received)
		select {
		case err := <-ended:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("upstream handler ended with its context error %v; want cancelled", err)
			}
		case <-time.After(proxyPatience):
			t.Fatalf("the upstream's request was not cancelled within %v", proxyPatience)
		}
		if _, err := io.ReadAll(br); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("reading the rest: %v; want a connection reset", err)
		}
		// A failed write is all the sink knows of the client: it reads
		// as a client gone.
		if r := nextReport(t, reports); r.Outcome != sink.ClientGone || !errors.Is(r.Err, errWriteFailed) {
			t.Errorf("report: %v (%v); want client gone, after %v", r.Outcome, r.Err, errWriteFailed)
		}
	})
	for _, v := range proxyVersions {
		t.Run(v.name+" client leaves", func(t *testing.T) {
			u := newEndlessUpstream()
			up := proxyUpstream(t, u.serve([]byte("tick\n"), 5*time.Millisecond, 1<<40), 0)
			p := &handlers.Proxy{URL: up.URL, Client: proxyClient(t, 0)}
			client, url, reports := proxyFront(t, p, v.http2, true, 0)
			ctx, cancel := context.WithCancel(t.Context())
			resp := proxyGet(t, ctx, client, url, nil)
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			if err != nil || line != "tick\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			cancel()
			if err := u.waitEnded(t); !errors.Is(err, context.Canceled) {
				t.Errorf("upstream handler ended with its context error %v; want cancelled", err)
			}
			if r := nextReport(t, reports); r.Outcome != sink.ClientGone {
				t.Errorf("report: %v (%v); want client gone", r.Outcome, r.Err)
			}
		})
	}
	for _, v := range proxyVersions {
		t.Run(v.name+" client stalls while the upstream is quiet", func(t *testing.T) {
			// The upstream sends more than the sockets to the client hold
			// (about 128 KiB at most with 32 KiB buffers), but less than
			// they and the proxy's buffer do (2×8+1 chunks, here of at
			// least the upstream's 16 KiB writes: 272 KiB), then waits:
			// the proxy waits on a read from it when the client's stall
			// ends the stream.
			u := newEndlessUpstream()
			up := proxyUpstream(t, u.serve(make([]byte, 16<<10), 0, 192<<10), 0)
			p := &handlers.Proxy{URL: up.URL, Client: proxyClient(t, 0)}
			p.StallTimeout = 100 * time.Millisecond
			client, url, reports := proxyFront(t, p, v.http2, true, 32<<10)
			proxyGet(t, t.Context(), client, url, nil) // and read nothing
			if err := u.waitEnded(t); !errors.Is(err, context.Canceled) {
				t.Errorf("upstream handler ended with its context error %v; want cancelled", err)
			}
			if r := nextReport(t, reports); r.Outcome != sink.Stalled {
				t.Errorf("report: %v (%v); want stalled", r.Outcome, r.Err)
			}
		})
	}
}

// errWriteFailed is the error of failsAfterFirst's writes.
var errWriteFailed = errors.New("the middleware's writer failed")

// failsAfterFirst is the response writer of a middleware (a compressor,
// say) that fails every write of a body after the first, with the client
// still connected.
type failsAfterFirst struct {
	gin.ResponseWriter
	n atomic.Int64
}

func (w *failsAfterFirst) Write(b []byte) (int, error) {
	if w.n.Add(1) > 1 {
		return 0, errWriteFailed
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the writer underneath, as net/http's ResponseController
// expects.
func (w *failsAfterFirst) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestProxyBackpressure: when the client stops reading, the proxy stops
// reading the upstream, whose writes then block: what the upstream
// manages to write is bounded by the proxy's buffer and the sockets'
// buffers, not by the length of the stream.
func TestProxyBackpressure(t *testing.T) {
	const (
		bufSize = 64 << 10  // each socket buffer on the way
		limit   = 256 << 20 // the upstream's stream, unless stopped
		bound   = 4 << 20   // proxy buffer (~0.5 MiB) and sockets, with room
	)
	u := newEndlessUpstream()
	up := proxyUpstream(t, u.serve(make([]byte, 16<<10), 0, limit), bufSize)
	p := &handlers.Proxy{URL: up.URL, Client: proxyClient(t, bufSize)}
	client, url, reports := proxyFront(t, p, false, true, bufSize)
	ctx, cancel := context.WithCancel(t.Context())
	proxyGet(t, ctx, client, url, nil) // and read nothing

	// Wait until the upstream's count has stopped growing for half a
	// second: its writes block.
	const poll, steadyPolls = 20 * time.Millisecond, 25
	deadline := time.Now().Add(proxyPatience)
	last, steady := int64(-1), 0
	for steady < steadyPolls {
		if time.Now().After(deadline) {
			t.Fatalf("upstream still writing after %v: %d bytes", proxyPatience, last)
		}
		time.Sleep(poll)
		n := u.written.Load()
		if n > bound {
			t.Fatalf("upstream wrote %d bytes to a proxy whose client reads nothing; want at most %d", n, bound)
		}
		if n == last {
			steady++
		} else {
			last, steady = n, 0
		}
	}
	t.Logf("upstream blocked after %d bytes", last)
	cancel()
	if err := u.waitEnded(t); !errors.Is(err, context.Canceled) {
		t.Errorf("upstream handler ended with its context error %v; want cancelled", err)
	}
	if r := nextReport(t, reports); r.Outcome != sink.ClientGone {
		t.Errorf("report: %v (%v); want client gone", r.Outcome, r.Err)
	}
}

// BenchmarkProxy streams 16 MiB per operation through the proxy, and
// through net/http/httputil's ReverseProxy as the reference, both on
// loopback from the same upstream; compare their MB/s.
func BenchmarkProxy(b *testing.B) {
	const size = 16 << 20
	block := randomBytes(1 << 20)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		for range size / len(block) {
			if _, err := w.Write(block); err != nil {
				return
			}
		}
	}))
	defer upstream.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()

	engine := gin.New()
	p := handlers.Proxy{URL: upstream.URL, Client: &http.Client{Transport: tr}}
	engine.GET("/proxy", p.Handler())
	target, _ := url.Parse(upstream.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	rp.FlushInterval = -1 // flush as it goes, as a streaming proxy must
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"ginstream", engine}, {"httputil.ReverseProxy", rp}} {
		b.Run(bc.name, func(b *testing.B) {
			front := httptest.NewServer(bc.h)
			defer front.Close()
			client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			defer client.CloseIdleConnections()
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(front.URL + "/proxy")
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != size {
					b.Fatalf("%d bytes, %v", n, err)
				}
			}
		})
	}
}
