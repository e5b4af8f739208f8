package ginstream_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/sink"
)

// patience bounds every wait of these tests, so that a broken pipeline
// fails the test instead of hanging it. It is a deadlock guard, not a
// performance claim.
const patience = 10 * time.Second

// protocol is an HTTP version the end-to-end tests run over.
type protocol struct {
	name  string
	http2 bool
}

// major is the protocol's major version.
func (p protocol) major() int {
	if p.http2 {
		return 2
	}
	return 1
}

// protocols are HTTP/1.1 and HTTP/2.
var protocols = []protocol{{"HTTP1.1", false}, {"HTTP2", true}}

// forEachProtocol runs test as one subtest over HTTP/1.1 and one over
// HTTP/2.
func forEachProtocol(t *testing.T, test func(t *testing.T, p protocol)) {
	t.Helper()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) { test(t, p) })
	}
}

// forEachSetup runs test over HTTP/1.1 and HTTP/2, each with and without
// gin's Recovery middleware.
func forEachSetup(t *testing.T, test func(t *testing.T, p protocol, recovery bool)) {
	t.Helper()
	forEachProtocol(t, func(t *testing.T, p protocol) {
		for _, recovery := range []bool{false, true} {
			name := "without Recovery"
			if recovery {
				name = "with Recovery"
			}
			t.Run(name, func(t *testing.T) { test(t, p, recovery) })
		}
	})
}

// newEngine returns a gin engine, with gin.Recovery if recovery is set.
func newEngine(recovery bool) *gin.Engine {
	engine := gin.New()
	if recovery {
		engine.Use(gin.Recovery())
	}
	return engine
}

// serve serves h over p on loopback until the test ends, and returns a
// client that speaks p and the server's base URL.
func serve(t *testing.T, p protocol, h http.Handler) (*http.Client, string) {
	t.Helper()
	return serveBuffered(t, p, h, 0)
}

// serveBuffered is serve with small, known buffers between the handler and
// the client's reader, so that backpressure sets in early and its bound is
// known: each connection's send buffer on the server, its receive buffer on
// the client and, over HTTP/2, the client's flow-control window for a
// stream are bufSize bytes. Zero keeps the system's and net/http's
// defaults.
func serveBuffered(t *testing.T, p protocol, h http.Handler, bufSize int) (*http.Client, string) {
	t.Helper()
	return loopback.Serve(t, p.http2, h, bufSize)
}

// get sends a GET request for url over p and returns the response, whose
// body is closed when the test ends. Cancelling ctx disconnects the client.
func get(t *testing.T, ctx context.Context, client *http.Client, p protocol, url string) *http.Response {
	t.Helper()
	resp, err := do(ctx, client, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.ProtoMajor != p.major() {
		t.Fatalf("GET %s: response over %s, want %s", url, resp.Proto, p.name)
	}
	return resp
}

// do sends a GET request for url, giving up after patience.
func do(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, patience)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

// cancelOnClose releases a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	defer b.cancel()
	return b.ReadCloser.Close()
}

// reports receives the reports of streams through Writer.OnReport.
type reports chan sink.Report

func newReports() reports { return make(reports, 16) }

func (r reports) hook(_ *gin.Context, rep sink.Report) { r <- rep }

// next returns the next report, failing the test if none comes.
func (r reports) next(t *testing.T) sink.Report {
	t.Helper()
	select {
	case rep := <-r:
		return rep
	case <-time.After(patience):
		t.Fatalf("no stream reported within %v: Writer.Stream did not return, or panicked before calling OnReport", patience)
		return sink.Report{}
	}
}

// quiet is the Writers' logger: failures are expected here.
var quiet = slog.New(slog.DiscardHandler)

// newWriter returns a Writer with enc that sends its reports to r and logs
// nothing.
func newWriter[T any](enc sink.Encoder[T], r reports) *sink.Writer[T] {
	return &sink.Writer[T]{Encoder: enc, Config: sink.Config{OnReport: r.hook, Logger: quiet}}
}

// probe watches the producers of one stream: how many items they yielded
// and how each of them ended.
type probe struct {
	yielded atomic.Int64
	started chan struct{} // receives once per producer that starts
	ended   chan ending   // receives once per producer that returns
}

// ending is how a producer ended.
type ending struct {
	ctxErr   error // ctx.Err() when it returned
	yieldErr error // what its last yield returned
}

func newProbe() *probe {
	return &probe{started: make(chan struct{}, 16), ended: make(chan ending, 16)}
}

// endless returns a producer that yields item until yield fails.
func (pr *probe) endless(item []byte) generator.Func[[]byte] {
	return func(ctx context.Context, yield func([]byte) error) error {
		pr.started <- struct{}{}
		for {
			if err := yield(item); err != nil {
				return pr.end(ctx, err)
			}
			pr.yielded.Add(1)
		}
	}
}

// waitsAfter returns a producer that yields items, then waits until its
// context is cancelled and tries to yield once more.
func (pr *probe) waitsAfter(items ...[]byte) generator.Func[[]byte] {
	return func(ctx context.Context, yield func([]byte) error) error {
		pr.started <- struct{}{}
		for _, item := range items {
			if err := yield(item); err != nil {
				return pr.end(ctx, err)
			}
			pr.yielded.Add(1)
		}
		<-ctx.Done()
		return pr.end(ctx, yield([]byte("too late\n")))
	}
}

func (pr *probe) end(ctx context.Context, yieldErr error) error {
	pr.ended <- ending{ctx.Err(), yieldErr}
	return yieldErr
}

// waitStarted waits until a producer has started.
func (pr *probe) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-pr.started:
	case <-time.After(patience):
		t.Fatalf("no producer started within %v", patience)
	}
}

// waitBlocked waits until the producers have yielded at least least items
// and the count has then stopped growing (it stayed the same for half a
// second: the producers are blocked in yield). It fails the test as soon as
// the count exceeds most, and returns the count.
func (pr *probe) waitBlocked(t *testing.T, least, most int64) int64 {
	t.Helper()
	const poll, steadyPolls = 20 * time.Millisecond, 25
	deadline := time.Now().Add(patience)
	last, steady := int64(-1), 0
	for steady < steadyPolls {
		if time.Now().After(deadline) {
			t.Fatalf("producers still not blocked after %v: %d items yielded", patience, last)
		}
		time.Sleep(poll)
		n := pr.yielded.Load()
		if n > most {
			t.Fatalf("producers yielded %d items to a client that reads nothing; want at most %d", n, most)
		}
		if n == last && n >= least {
			steady++
		} else {
			last, steady = n, 0
		}
	}
	return last
}

// checkCancelled checks that n producers have returned, each after its
// context was cancelled and its yield failed. Call it once the stream has
// reported: Writer.Stream returns only after its producers have returned.
func (pr *probe) checkCancelled(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case e := <-pr.ended:
			if e.ctxErr == nil {
				t.Errorf("producer %d returned with its context not cancelled", i)
			}
			if e.yieldErr == nil {
				t.Errorf("producer %d: yield succeeded after the stream ended", i)
			}
		default:
			t.Fatalf("producer %d had not returned when the stream reported", i)
		}
	}
}

// checkNoGoroutineLeft checks, after the test's other cleanups have closed
// its servers and clients, that the test left no goroutine behind. Call it
// at the start of a test that does not run in parallel.
func checkNoGoroutineLeft(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}
