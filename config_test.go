package ginstream_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// logBuffer is a slog handler's output, safe to read while handlers write.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLogger returns a text logger at level writing to a new buffer.
func newLogger(level slog.Level) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level})), b
}

// TestServerErrorBodyIsGeneric: a server error's body says only its status
// and the request's id, whatever the error's text; the text and the id are
// in the log. An id that is not a plain token is not echoed.
func TestServerErrorBodyIsGeneric(t *testing.T) {
	const secret = "dial tcp 10.0.0.7:5432: password authentication failed for user app"
	for _, tt := range []struct {
		name, requestID, responseID string
		wantBody, wantLogID         string
	}{
		{"no id", "", "", "500 Internal Server Error\n", ""},
		{"the request's id", "abc-123", "", "500 Internal Server Error (request abc-123)\n", "request_id=abc-123"},
		{"the id a middleware set", "from-client", "from-middleware", "500 Internal Server Error (request from-middleware)\n", "request_id=from-middleware"},
		{"an id that is not a token", "a b<script>", "", "500 Internal Server Error\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logger, logs := newLogger(slog.LevelInfo)
			rep := newReports()
			w := &sink.Writer[string]{Encoder: sink.Lines[string]{}, Config: sink.Config{OnReport: rep.hook, Logger: logger}}
			engine := newEngine(false)
			engine.GET("/fail", func(c *gin.Context) {
				if tt.responseID != "" {
					c.Header(sink.RequestIDHeader, tt.responseID)
				}
				w.Stream(c, func(context.Context, func(string) error) error { return errors.New(secret) })
			})
			client, url := serve(t, protocols[0], engine)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/fail", nil)
			if tt.requestID != "" {
				req.Header[sink.RequestIDHeader] = []string{tt.requestID}
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusInternalServerError || string(body) != tt.wantBody {
				t.Errorf("%d %q; want 500 %q", resp.StatusCode, body, tt.wantBody)
			}
			if r := rep.next(t); r.Outcome != sink.Failed || r.Err == nil || r.Err.Error() != secret {
				t.Errorf("report %v %v; want failed with the error", r.Outcome, r.Err)
			}
			log := logs.String()
			if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, secret) || !strings.Contains(log, tt.wantLogID) {
				t.Errorf("log %q; want an ERROR line with the error and %q", log, tt.wantLogID)
			}
			if tt.wantLogID == "" && strings.Contains(log, "request_id") {
				t.Errorf("log %q names a request id that is not one", log)
			}
		})
	}
}

// TestClientGoneIsNotAnError: a client that leaves is reported (for
// metrics) but is neither a gin error nor logged above Debug.
func TestClientGoneIsNotAnError(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		logger, logs := newLogger(slog.LevelInfo)
		debugLogger, debugLogs := newLogger(slog.LevelDebug)
		for _, tc := range []struct {
			logger *slog.Logger
			logs   *logBuffer
			want   bool // a Debug line expected
		}{{logger, logs, false}, {debugLogger, debugLogs, true}} {
			rep := newReports()
			ginErrors := make(chan int, 1)
			pr := newProbe()
			w := &sink.Writer[[]byte]{Encoder: sink.Bytes{}, Config: sink.Config{OnReport: rep.hook, Logger: tc.logger}}
			engine := newEngine(false)
			engine.GET("/waits", func(c *gin.Context) {
				w.StreamInline(c, pr.waitsAfter([]byte("hello\n")))
				ginErrors <- len(c.Errors)
			})
			client, url := serve(t, p, engine)
			ctx, disconnect := context.WithCancel(t.Context())
			resp := get(t, ctx, client, p, url+"/waits")
			if _, err := io.ReadFull(resp.Body, make([]byte, 6)); err != nil {
				t.Fatal(err)
			}
			disconnect()
			if r := rep.next(t); r.Outcome != sink.ClientGone {
				t.Fatalf("report %v %v; want client_gone", r.Outcome, r.Err)
			}
			if n := <-ginErrors; n != 0 {
				t.Errorf("%d gin errors recorded for a client that left; want none", n)
			}
			got := tc.logs.String()
			if tc.want != strings.Contains(got, "level=DEBUG") || strings.Contains(got, "level=INFO") || strings.Contains(got, "level=ERROR") {
				t.Errorf("log %q; want a Debug line only when Debug is on (%v)", got, tc.want)
			}
		}
	})
}

// TestWriterFail: Fail answers as a stream failing before its first byte
// would, drops the headers meant for the body, and reports the failure.
func TestWriterFail(t *testing.T) {
	rep := newReports()
	w := newWriter(sink.Bytes{}, rep)
	engine := newEngine(false)
	engine.GET("/fail", func(c *gin.Context) {
		c.Header("Content-Disposition", `attachment; filename="x.bin"`)
		c.Header("Content-Encoding", "gzip")
		c.Header("Etag", `"v1"`)
		w.Fail(c, sink.WithStatus(http.StatusBadGateway, errors.New("upstream 10.1.2.3:80 refused")))
	})
	client, url := serve(t, protocols[0], engine)
	resp := get(t, t.Context(), client, protocols[0], url+"/fail")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadGateway || string(body) != "502 Bad Gateway\n" {
		t.Errorf("%d %q; want 502 and its status line only", resp.StatusCode, body)
	}
	for _, h := range []string{"Content-Disposition", "Content-Encoding", "Etag"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("%s: %q kept on an error", h, v)
		}
	}
	if r := rep.next(t); r.Outcome != sink.Failed || r.Status != http.StatusBadGateway || r.Err == nil {
		t.Errorf("report %+v", r)
	}
}

// TestLimitRejectionDropsBodyHeaders: a 503 for a full Limit keeps none of
// the headers the handler set for its body, so that a browser does not
// save the message as the download.
func TestLimitRejectionDropsBodyHeaders(t *testing.T) {
	limit := sink.NewLimit(0, time.Second)
	w := &sink.Writer[int]{Encoder: sink.Lines[int]{}, Config: sink.Config{Limit: limit, Logger: quiet}}
	engine := newEngine(false)
	engine.GET("/export", func(c *gin.Context) {
		c.Header("Content-Disposition", `attachment; filename="users.csv"`)
		w.Stream(c, generator.Count(3, 0))
	})
	client, url := serve(t, protocols[0], engine)
	resp := get(t, t.Context(), client, protocols[0], url+"/export")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.HasPrefix(string(body), "503 Service Unavailable: ") {
		t.Errorf("%d Retry-After %q %q; want 503, 1, a message", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != "" {
		t.Errorf("Content-Disposition %q kept on a 503", cd)
	}
}

// TestNoEncoder: a Writer without an encoder answers 500 and reports
// ErrNoEncoder instead of panicking.
func TestNoEncoder(t *testing.T) {
	rep := newReports()
	w := &sink.Writer[int]{Config: sink.Config{OnReport: rep.hook, Logger: quiet}}
	engine := newEngine(false)
	engine.GET("/x", func(c *gin.Context) { w.Stream(c, generator.Count(3, 0)) })
	client, url := serve(t, protocols[0], engine)
	resp := get(t, t.Context(), client, protocols[0], url+"/x")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d; want 500", resp.StatusCode)
	}
	if r := rep.next(t); !errors.Is(r.Err, sink.ErrNoEncoder) {
		t.Errorf("report error %v; want ErrNoEncoder", r.Err)
	}
}

// endLines is a Lines encoder with an epilogue: a complete stream ends
// with a line "= done", a failed one with "! MESSAGE", and the client is
// told of a failure if told is set.
type endLines struct {
	sink.Lines[string]
	told bool
}

func (e endLines) AppendEpilogue(dst []byte, end sink.End) ([]byte, bool) {
	if end.Err == nil {
		return append(dst, "= done\n"...), true
	}
	return append(append(dst, "! "...), end.Message+"\n"...), e.told
}

// TestEpilogue: an encoder's epilogue ends a stream that failed after its
// first byte; a told client gets a clean end after it, any other a failed
// transfer (after it too); either way the report says it failed. A stream
// that completes gets the epilogue of a complete stream.
func TestEpilogue(t *testing.T) {
	forEachSetup(t, func(t *testing.T, p protocol, recovery bool) {
		boom := errors.New("disk 3 failed")
		for _, told := range []bool{true, false} {
			for _, inline := range []bool{false, true} {
				rep := newReports()
				w := newWriter[string](endLines{told: told}, rep)
				engine := newEngine(recovery)
				fails := func(ctx context.Context, yield func(string) error) error {
					if err := yield("first"); err != nil {
						return err
					}
					return boom
				}
				engine.GET("/fails", func(c *gin.Context) {
					if inline {
						w.StreamInline(c, fails)
					} else {
						w.Stream(c, fails)
					}
				})
				engine.GET("/completes", func(c *gin.Context) { w.Stream(c, generator.Slice([]string{"a", "b"})) })
				client, url := serve(t, p, engine)

				resp := get(t, t.Context(), client, p, url+"/fails")
				body, err := io.ReadAll(resp.Body)
				if want := "first\n! Internal Server Error\n"; string(body) != want {
					t.Errorf("told %v, inline %v: body %q; want %q", told, inline, body, want)
				}
				if told && err != nil {
					t.Errorf("told: the transfer failed (%v); want a clean end", err)
				}
				if !told && err == nil {
					t.Errorf("not told: a clean end; want a failed transfer")
				}
				if r := rep.next(t); r.Outcome != sink.Failed || !errors.Is(r.Err, boom) {
					t.Errorf("report %v %v; want failed", r.Outcome, r.Err)
				}

				resp = get(t, t.Context(), client, p, url+"/completes")
				if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "a\nb\n= done\n" {
					t.Errorf("a complete stream: %q %v", body, err)
				}
				rep.next(t)
			}
		}
	})
}

// TestInlineHeaderTimeout: StreamInline sends the headers after the
// header timeout when the first item is late, and the item still arrives.
func TestInlineHeaderTimeout(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		rep := newReports()
		w := newWriter(sink.Lines[string]{}, rep)
		w.HeaderTimeout = 10 * time.Millisecond
		release := make(chan struct{})
		engine := newEngine(false)
		engine.GET("/late", func(c *gin.Context) {
			w.StreamInline(c, func(ctx context.Context, yield func(string) error) error {
				select {
				case <-release:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
				return yield("late")
			})
		})
		client, url := serve(t, p, engine)
		resp := get(t, t.Context(), client, p, url+"/late") // returns with the headers
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("headers: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		close(release)
		if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "late\n" {
			t.Errorf("body %q %v", body, err)
		}
		if r := rep.next(t); r.Outcome != sink.Completed || r.Items != 1 {
			t.Errorf("report %+v", r)
		}
	})
}

// clientFrom returns an HTTP/1.1 client whose connections come from the
// loopback address ip, a client of its own as a server sees it.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// TestLimitPerClientOverHTTP: a client holding its share of the streams
// gets 429 with Retry-After for the next, while another client is served;
// when one of its streams ends, it may open another.
func TestLimitPerClientOverHTTP(t *testing.T) {
	checkNoGoroutineLeft(t)
	rep := newReports()
	limit := sink.NewLimit(100, 3*time.Second).PerClient(3, nil)
	w := &sink.Writer[int]{Encoder: sink.Lines[int]{}, Config: sink.Config{Limit: limit, OnReport: rep.hook, Logger: quiet}}
	engine := newEngine(false)
	engine.GET("/endless", func(c *gin.Context) { w.Stream(c, generator.Count(1_000_000, 50*time.Millisecond)) })
	_, url := serve(t, protocols[0], engine)
	greedy, other := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2")

	open := func(client *http.Client) (*http.Response, context.CancelFunc) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), patience)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/endless", nil)
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close(); cancel() })
		return resp, cancel
	}
	var cancels []context.CancelFunc
	for i := range 3 {
		resp, cancel := open(greedy)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d of the client's 3: %d", i+1, resp.StatusCode)
		}
		cancels = append(cancels, cancel)
	}
	resp, _ := open(greedy)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" || !strings.HasPrefix(string(body), "429 Too Many Requests: ") {
		t.Fatalf("a 4th stream of one client: %d, Retry-After %q, %q; want 429, 3, a message", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if r := rep.next(t); r.Outcome != sink.Rejected || r.Status != http.StatusTooManyRequests || !errors.Is(r.Err, sink.ErrClientLimit) {
		t.Errorf("report %+v", r)
	}
	if resp, _ := open(other); resp.StatusCode != http.StatusOK {
		t.Fatalf("another client: %d, want 200", resp.StatusCode)
	}
	cancels[0]()
	if r := rep.next(t); r.Outcome != sink.ClientGone {
		t.Fatalf("report of the stream the client left: %+v", r)
	}
	if resp, _ := open(greedy); resp.StatusCode != http.StatusOK {
		t.Fatalf("after one of its streams ended, the client: %d, want 200", resp.StatusCode)
	}
}

// TestMaxDuration: a stream that reaches Config.MaxDuration ends: a text
// stream as a failed transfer the client detects, an event stream with a
// jittered retry field and a clean end (EventSource reconnects and
// resumes); either way the producers are cancelled and the report says
// Expired. A stream that expires before its first byte is answered 503.
func TestMaxDuration(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		checkNoGoroutineLeft(t)
		const lifetime = 300 * time.Millisecond
		rep := newReports()
		cfg := sink.Config{MaxDuration: lifetime, OnReport: rep.hook, Logger: quiet}
		text := &sink.Writer[int]{Encoder: sink.Lines[int]{}, Config: cfg}
		events := &sse.EventWriter{Retry: time.Second, Heartbeat: -1, Config: cfg}
		engine := newEngine(false)
		engine.GET("/text", func(c *gin.Context) { text.Stream(c, generator.Count(1_000_000, 10*time.Millisecond)) })
		engine.GET("/quiet", func(c *gin.Context) {
			text.Stream(c, func(ctx context.Context, yield func(int) error) error { <-ctx.Done(); return context.Cause(ctx) })
		})
		engine.GET("/events", func(c *gin.Context) {
			events.Stream(c, func(ctx context.Context, yield func(sse.Event) error) error {
				for i := 0; ; i++ {
					if err := yield(sse.Event{Data: strconv.Itoa(i)}); err != nil {
						return err
					}
					select {
					case <-ctx.Done():
						return context.Cause(ctx)
					case <-time.After(10 * time.Millisecond):
					}
				}
			})
		})
		client, url := serve(t, p, engine)

		resp := get(t, t.Context(), client, p, url+"/text")
		body, err := io.ReadAll(resp.Body)
		if err == nil || !strings.HasPrefix(string(body), "1\n2\n") {
			t.Errorf("text: %d bytes, error %v; want numbers, then a failed transfer", len(body), err)
		}
		if r := rep.next(t); r.Outcome != sink.Expired || !errors.Is(r.Err, sink.ErrMaxDuration) || r.Duration < lifetime {
			t.Errorf("text: report %v %v after %v; want expired after %v", r.Outcome, r.Err, r.Duration, lifetime)
		}

		resp = get(t, t.Context(), client, p, url+"/quiet")
		if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusServiceUnavailable || string(body) != "503 Service Unavailable\n" {
			t.Errorf("quiet: %d %q; want 503", resp.StatusCode, body)
		}
		rep.next(t)

		resp = get(t, t.Context(), client, p, url+"/events")
		body, err = io.ReadAll(resp.Body)
		if err != nil {
			t.Errorf("events: %v; want a clean end", err)
		}
		frames := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
		last := frames[len(frames)-1]
		ms, perr := strconv.Atoi(strings.TrimPrefix(last, "retry: "))
		if !strings.HasPrefix(last, "retry: ") || perr != nil || ms < 1000 || ms > 1500 || len(frames) < 3 {
			t.Errorf("events: %d frames ending with %q; want events, then a retry of 1000 to 1500 ms", len(frames), last)
		}
		if r := rep.next(t); r.Outcome != sink.Expired {
			t.Errorf("events: report %v %v; want expired", r.Outcome, r.Err)
		}
	})
}

// TestHTTP10Refused: a stream asked for over HTTP/1.0, where its end could
// only be the connection closing, is refused with 505 and a message, as a
// raw client sees it; the same request over HTTP/1.1 streams.
func TestHTTP10Refused(t *testing.T) {
	rep := newReports()
	w := newWriter(sink.Lines[int]{}, rep)
	engine := newEngine(false)
	engine.GET("/numbers", func(c *gin.Context) {
		c.Header("Content-Disposition", `attachment; filename="n.txt"`)
		w.Stream(c, generator.Count(3, 0))
	})
	_, url := serve(t, protocols[0], engine)
	for _, tt := range []struct {
		proto, wantStatus, wantBody string
	}{
		{"HTTP/1.0", "HTTP/1.0 505 HTTP Version Not Supported", "505 HTTP Version Not Supported: this stream needs HTTP/1.1 or later"},
		// The chunks' sizes depend on timing; the decoded body does not,
		// and a chunked body ends with its terminator.
		{"HTTP/1.1", "HTTP/1.1 200 OK", "1\n2\n3\n"},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(patience))
		fmt.Fprintf(conn, "GET /numbers %s\r\nHost: x\r\nConnection: close\r\n\r\n", tt.proto)
		raw, _ := io.ReadAll(conn)
		conn.Close()
		resp, body := string(raw), string(raw)
		if tt.proto == "HTTP/1.1" {
			body = dechunk(t, raw)
		}
		if !strings.HasPrefix(resp, tt.wantStatus+"\r\n") || !strings.Contains(body, tt.wantBody) {
			t.Errorf("%s: %q; want %q and %q", tt.proto, resp, tt.wantStatus, tt.wantBody)
		}
		if tt.proto == "HTTP/1.0" {
			if strings.Contains(resp, "Content-Disposition") {
				t.Errorf("HTTP/1.0: Content-Disposition kept on the 505")
			}
			if r := rep.next(t); r.Outcome != sink.Rejected || !errors.Is(r.Err, sink.ErrHTTP10) {
				t.Errorf("HTTP/1.0: report %+v", r)
			}
		} else {
			rep.next(t)
		}
	}
}

// dechunk returns the body of a raw HTTP/1.1 response with a chunked body,
// failing the test unless the body ends with its terminator.
func dechunk(t *testing.T, raw []byte) string {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("reading %q: %v", raw, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || len(resp.TransferEncoding) == 0 || !bytes.HasSuffix(raw, []byte("\r\n0\r\n\r\n")) {
		t.Fatalf("chunked body %q: %v; want one that ends with its terminator", raw, err)
	}
	return string(body)
}

// TestNDJSONEndRecord: with EndRecord, a complete NDJSON stream ends with
// {"end":"completed"} and a failed one with {"end":"failed",…} and then a
// failed transfer; without it, neither.
func TestNDJSONEndRecord(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		rep := newReports()
		type row struct{ N int }
		engine := newEngine(false)
		for _, end := range []bool{true, false} {
			w := newWriter[row](sink.NDJSON[row]{EndRecord: end}, rep)
			prefix := "/" + strconv.FormatBool(end)
			engine.GET(prefix+"/complete", func(c *gin.Context) { w.Stream(c, generator.Slice([]row{{1}, {2}})) })
			engine.GET(prefix+"/fails", func(c *gin.Context) {
				w.Stream(c, func(ctx context.Context, yield func(row) error) error {
					if err := yield(row{1}); err != nil {
						return err
					}
					return errors.New("replica 3 lost")
				})
			})
		}
		client, url := serve(t, p, engine)
		for _, tt := range []struct {
			path, want string
			cut        bool
		}{
			{"/true/complete", `{"N":1}` + "\n" + `{"N":2}` + "\n" + `{"end":"completed"}` + "\n", false},
			{"/true/fails", `{"N":1}` + "\n" + `{"end":"failed","error":"Internal Server Error"}` + "\n", true},
			{"/false/complete", `{"N":1}` + "\n" + `{"N":2}` + "\n", false},
			{"/false/fails", `{"N":1}` + "\n", true},
		} {
			resp := get(t, t.Context(), client, p, url+tt.path)
			body, err := io.ReadAll(resp.Body)
			if string(body) != tt.want || (err != nil) != tt.cut {
				t.Errorf("%s: %q, %v; want %q, cut %v", tt.path, body, err, tt.want, tt.cut)
			}
			rep.next(t)
		}
	})
}

// TestAbortIsAReset: a stream aborted after its first byte reaches a raw
// TCP client over HTTP/1.1 as a connection reset (RST), not a FIN that
// a lax client could take for the end of the body, with or without
// Recovery; the bytes sent before it arrive first.
func TestAbortIsAReset(t *testing.T) {
	for _, recovery := range []bool{false, true} {
		w := newWriter(sink.Lines[string]{}, newReports())
		engine := newEngine(recovery)
		engine.GET("/fails", func(c *gin.Context) {
			w.Stream(c, func(ctx context.Context, yield func(string) error) error {
				if err := yield("first"); err != nil {
					return err
				}
				time.Sleep(50 * time.Millisecond) // the first batch leaves alone
				return errors.New("the disk went away")
			})
		})
		_, url := serve(t, protocols[0], engine)
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(patience))
		fmt.Fprintf(conn, "GET /fails HTTP/1.1\r\nHost: x\r\n\r\n")
		raw, err := io.ReadAll(conn)
		conn.Close()
		if !errors.Is(err, syscall.ECONNRESET) || !strings.HasSuffix(string(raw), "\r\n6\r\nfirst\n\r\n") {
			t.Errorf("recovery %v: %q, then %v; want the first chunk, then a connection reset", recovery, raw, err)
		}
	}
}
