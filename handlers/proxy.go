package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// DefaultResponseHeaderTimeout is how long a [Proxy] waits for the
// upstream's response headers when its ResponseHeaderTimeout is zero.
const DefaultResponseHeaderTimeout = 30 * time.Second

// ErrUpstreamTimeout reports an upstream that sent no response headers
// within the Proxy's ResponseHeaderTimeout; the client gets 504 Gateway
// Timeout.
var ErrUpstreamTimeout = errors.New("handlers: proxy: no response headers from upstream in time")

// Proxy streams the response of one upstream URL to the client, at the
// pace the client reads: when the client stops reading, the proxy stops
// reading the upstream, whose writes then block. A stream holds at most
// 2×sink.DefaultChunkCapacity+1 chunks of up to 32 KiB (about 0.5 MiB),
// however slow its client. The zero values of its fields are the
// defaults; URL must be set.
//
//	r.GET("/proxy/numbers", handlers.Proxy{URL: "http://localhost:8080/stream/numbers", Config: streams}.Handler())
type Proxy struct {
	// URL is the upstream's absolute URL, from the server's
	// configuration. Nothing in the request changes it — not the host,
	// the path or the query — so clients cannot aim the proxy elsewhere.
	// It must be an absolute http or https URL.
	URL string

	// Client sends the upstream requests. Nil means a client on
	// http.DefaultTransport that passes redirects on to the client
	// instead of following them. A Client.Timeout bounds the whole
	// response, body included: leave it zero for long streams.
	Client *http.Client

	// ResponseHeaderTimeout bounds the wait for the upstream's response
	// headers; past it the client gets 504 Gateway Timeout. Zero means
	// DefaultResponseHeaderTimeout; a negative value means no limit.
	ResponseHeaderTimeout time.Duration

	// Config holds the settings every stream shares (see sink.Config).
	// Compress leaves an upstream body that is compressed already as it
	// is.
	sink.Config
}

// forwardedHeaders are the request headers passed on to the upstream:
// content negotiation and conditional requests, never credentials or
// cookies meant for this server.
var forwardedHeaders = []string{
	"Accept", "Accept-Encoding", "Accept-Language",
	"If-Modified-Since", "If-None-Match", "If-Range", "Range",
}

// hopHeaders are the hop-by-hop response headers (RFC 9110, section 7.6.1,
// and older ones still seen), which a proxy must not pass on; so are
// headers named in Connection, and every Proxy-* header.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
	"Transfer-Encoding", "Upgrade",
}

// proxyChunk is the most the proxy reads from the upstream at once.
const proxyChunk = 32 << 10

// defaultProxyClient passes redirects on instead of following them.
var defaultProxyClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Handler returns the gin handler that sends a GET request to the
// upstream with the client's Accept, Accept-Encoding, Accept-Language,
// Range and conditional headers, and streams the response back: its
// status, its end-to-end headers (not the hop-by-hop ones, nor
// Content-Length: the stream is chunked), unchanged (a Location too), and
// its body as it is, still compressed if it was (Content-Encoding is passed
// on; a client that sent no Accept-Encoding gets an identity body).
// Trailers are dropped. Handler panics if URL is not an absolute http or
// https URL.
//
// The upstream request is cancelled as soon as the stream ends early: the
// client leaves, stalls, or the stream fails. An upstream that cannot be
// reached, or fails before the first byte of its body, is answered 502 Bad
// Gateway (504 Gateway Timeout for a timeout), whose body names neither
// the upstream nor the error (they are logged); one that fails after it
// gives the client a failed transfer (see package sink). Every outcome is
// reported (Config.OnReport).
func (p Proxy) Handler() gin.HandlerFunc {
	u, err := url.Parse(p.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		panic(fmt.Sprintf("handlers: Proxy.URL %q is not an absolute http or https URL", p.URL))
	}
	w := &sink.Writer[[]byte]{Encoder: recycling{}, Capacity: sink.DefaultChunkCapacity, Config: p.Config}
	return func(c *gin.Context) {
		ctx, cancel := context.WithCancelCause(c.Request.Context())
		defer cancel(nil)
		resp, first, err := p.open(ctx, cancel, c.Request)
		if err != nil {
			w.Fail(c, err)
			return
		}
		defer resp.Body.Close()
		copyEndToEnd(c.Writer.Header(), resp.Header)
		c.Status(resp.StatusCode)
		w.Stream(c, relay(first, resp.Body, cancel))
	}
}

// open sends the upstream request and reads the first chunk of the body,
// so that a failure before the first byte is answered with an error
// status and none of the upstream's headers. cancel cancels ctx, the
// request's context.
func (p *Proxy) open(ctx context.Context, cancel context.CancelCauseFunc, in *http.Request) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("handlers: proxy: upstream URL: %w", err) // 500; Handler checked it
	}
	for _, k := range forwardedHeaders {
		if v := in.Header.Values(k); len(v) > 0 {
			req.Header[k] = slices.Clone(v)
		}
	}
	if req.Header.Get("Accept-Encoding") == "" {
		// Else the transport would ask for gzip and decode it: the
		// proxy passes bodies on as they are.
		req.Header.Set("Accept-Encoding", "identity")
	}
	resp, err := p.roundTrip(req, cancel)
	if err != nil {
		return nil, nil, err
	}
	buf := chunkPool.Get().(*[proxyChunk]byte)
	n, err := readSome(resp.Body, buf[:])
	if err != nil && err != io.EOF {
		chunkPool.Put(buf)
		resp.Body.Close()
		return nil, nil, upstreamError("body", err)
	}
	if n == 0 {
		chunkPool.Put(buf)
		return resp, nil, nil
	}
	return resp, buf[:n], nil
}

// roundTrip sends req and waits for the response headers, at most
// ResponseHeaderTimeout; cancel cancels req's context.
func (p *Proxy) roundTrip(req *http.Request, cancel context.CancelCauseFunc) (*http.Response, error) {
	client := p.Client
	if client == nil {
		client = defaultProxyClient
	}
	timeout := p.ResponseHeaderTimeout
	if timeout == 0 {
		timeout = DefaultResponseHeaderTimeout
	}
	if timeout < 0 {
		resp, err := client.Do(req)
		if err != nil {
			return nil, upstreamError("request", err)
		}
		return resp, nil
	}
	fired := make(chan struct{})
	timer := time.AfterFunc(timeout, func() {
		defer close(fired)
		cancel(ErrUpstreamTimeout)
	})
	resp, err := client.Do(req)
	if !timer.Stop() {
		<-fired // the deadline passed, even if the headers just made it
		if err == nil {
			resp.Body.Close()
		}
		return nil, sink.WithStatus(http.StatusGatewayTimeout,
			fmt.Errorf("%w (%v)", ErrUpstreamTimeout, timeout))
	}
	if err != nil {
		return nil, upstreamError("request", err)
	}
	return resp, nil
}

// upstreamError reports a failed upstream request or body read as 502 Bad
// Gateway, or 504 Gateway Timeout for a timeout. The upstream's URL is left
// out of the message, which the client sees.
func upstreamError(what string, err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	code := http.StatusBadGateway
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		code = http.StatusGatewayTimeout
	}
	return sink.WithStatus(code, fmt.Errorf("handlers: proxy: upstream %s: %w", what, err))
}

// readSome reads into buf until it gets a byte or an error.
func readSome(r io.Reader, buf []byte) (int, error) {
	for {
		if n, err := r.Read(buf); n > 0 || err != nil {
			return n, err
		}
	}
}

// relay returns a producer that yields first, then the rest of body in
// chunks of up to proxyChunk bytes, each in a buffer of its own from
// chunkPool (chunks wait in the stream's buffer while the next read is
// under way), which the encoder returns to the pool. cancel cancels the
// upstream request.
func relay(first []byte, body io.Reader, cancel context.CancelCauseFunc) generator.Func[[]byte] {
	return func(ctx context.Context, yield func([]byte) error) error {
		// When the stream ends early, whatever the reason, cancel the
		// upstream request: that also ends a read waiting on it.
		done := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(done)
			cancel(context.Cause(ctx))
		})
		defer func() {
			if !stop() {
				<-done
			}
		}()
		if len(first) > 0 {
			if err := yield(first); err != nil {
				return err
			}
		}
		for {
			buf := chunkPool.Get().(*[proxyChunk]byte)
			n, err := body.Read(buf[:])
			if n > 0 {
				if err := yield(buf[:n]); err != nil {
					return err
				}
			} else {
				chunkPool.Put(buf)
			}
			switch {
			case err == io.EOF:
				return nil
			case err != nil && ctx.Err() != nil:
				return context.Cause(ctx) // the stream is over anyway
			case err != nil:
				return upstreamError("body", err)
			}
		}
	}
}

// chunkPool holds the buffers of the chunks read from upstreams.
var chunkPool = sync.Pool{New: func() any { return new([proxyChunk]byte) }}

// recycling is the encoder of a Proxy's stream: sink.Bytes, then the
// chunk's buffer goes back to chunkPool. Append is the last time the
// Writer looks at an item, so the buffer is free then; a chunk not
// encoded, because the stream ended first, is left to the garbage
// collector.
type recycling struct{ sink.Bytes }

// Append appends chunk to dst and recycles its buffer.
func (recycling) Append(dst, chunk []byte) ([]byte, error) {
	dst = append(dst, chunk...)
	if cap(chunk) == proxyChunk {
		chunkPool.Put((*[proxyChunk]byte)(chunk[:proxyChunk]))
	}
	return dst, nil
}

// copyEndToEnd copies the end-to-end headers of an upstream response to
// dst, replacing those dst has: all but the hop-by-hop ones and
// Content-Length.
func copyEndToEnd(dst, src http.Header) {
	for k, v := range src {
		if !isHopByHop(k, src["Connection"]) && !strings.EqualFold(k, "Content-Length") {
			dst[k] = slices.Clone(v)
		}
	}
}

// isHopByHop reports whether the header key is hop-by-hop, given the
// values of the Connection header, which name more.
func isHopByHop(key string, connection []string) bool {
	if len(key) >= len("Proxy-") && strings.EqualFold(key[:len("Proxy-")], "Proxy-") {
		return true
	}
	for _, h := range hopHeaders {
		if strings.EqualFold(key, h) {
			return true
		}
	}
	for _, v := range connection {
		for name := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(name), key) {
				return true
			}
		}
	}
	return false
}
