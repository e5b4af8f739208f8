package handlers_test

// Fault tests of the handlers (issue 5): clients that leave at random
// points, upstream failures behind the proxy, the database connection
// killed mid-export, a followed log file changed under the reader. Each
// runs in a short version by default and at full size with -tags long (see
// package testscale); docs/RELIABILITY.md reports the full runs.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/linestest"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/internal/pgtest"
	"github.com/ginstream/ginstream/internal/testscale"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// faultPatience bounds every wait of the fault tests, so that a handler
// that never returns fails the test instead of hanging it. It is a
// deadlock guard, not a performance claim.
const faultPatience = 30 * time.Second

// faultSeedEnv names the environment variable that sets the seed of the
// fault tests' random choices.
const faultSeedEnv = "GINSTREAM_FAULT_SEED"

// faultSeed returns the seed of t's random choices: that of
// GINSTREAM_FAULT_SEED, or a fixed one. It is logged if t fails, with how
// to run t again with the same choices.
func faultSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(20240605)
	if s := os.Getenv(faultSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", faultSeedEnv, s, err)
		}
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("random choices from seed %d; run again with %s=%d", seed, faultSeedEnv, seed)
		}
	})
	return seed
}

// faultNoLeaks checks, once the test's other cleanups have closed its
// servers, clients and pools, that the test left no goroutine behind. Call
// it before anything that registers a cleanup.
func faultNoLeaks(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// logRecord is a record a handler logged.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (r logRecord) String() string {
	return fmt.Sprintf("%v %q %v", r.level, r.msg, r.attrs)
}

// logRecorder is a slog.Handler that keeps every record logged through it.
type logRecorder struct {
	mu      sync.Mutex
	records []logRecord
}

func (l *logRecorder) logger() *slog.Logger { return slog.New(recordingHandler{l, nil}) }

// worseThanClientGone returns the records that say more than that a client
// went away: above slog.LevelDebug, at which a sink logs a client gone, or
// with another outcome than client_gone.
func (l *logRecorder) worseThanClientGone() []logRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var worse []logRecord
	for _, r := range l.records {
		if r.level > slog.LevelDebug || r.attrs["outcome"] != sink.ClientGone.String() {
			worse = append(worse, r)
		}
	}
	return worse
}

// count returns the number of records.
func (l *logRecorder) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.records)
}

// recordingHandler is the slog.Handler of a logRecorder.
type recordingHandler struct {
	l     *logRecorder
	attrs []slog.Attr
}

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.l.mu.Lock()
	h.l.records = append(h.l.records, rec)
	h.l.mu.Unlock()
	return nil
}

func (h recordingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return recordingHandler{h.l, append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)}
}

func (h recordingHandler) WithGroup(string) slog.Handler { return h }

// faultIDHeader carries the number of a fault test's request, so that the
// server can tell when the handler of each starts and returns.
const faultIDHeader = "X-Fault-Id"

// requestTracker follows the requests of a fault test through the server:
// it is a middleware that notes when each handler starts and returns,
// recovers and records panics, counts the handlers run per route, and
// collects the reports of the streams.
type requestTracker struct {
	mu       sync.Mutex
	started  map[string]chan struct{}
	returned map[string]chan struct{}
	runs     map[string]int           // handlers that returned, per route
	reports  map[string][]sink.Report // per route
	panics   []string
	active   atomic.Int64 // handlers running
}

func newRequestTracker() *requestTracker {
	return &requestTracker{
		started:  map[string]chan struct{}{},
		returned: map[string]chan struct{}{},
		runs:     map[string]int{},
		reports:  map[string][]sink.Report{},
	}
}

// channels returns the channels closed when the handler of request id
// starts and returns. tr.mu must be held.
func (tr *requestTracker) channels(id string) (started, returned chan struct{}) {
	if tr.started[id] == nil {
		tr.started[id], tr.returned[id] = make(chan struct{}), make(chan struct{})
	}
	return tr.started[id], tr.returned[id]
}

// expect returns the channels closed when the handler of request id starts
// and returns.
func (tr *requestTracker) expect(id string) (started, returned <-chan struct{}) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.channels(id)
}

// closeOnce closes ch unless it is closed. tr.mu must be held.
func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// middleware runs the rest of the chain, noting its start and return.
func (tr *requestTracker) middleware(c *gin.Context) {
	id := c.GetHeader(faultIDHeader)
	tr.active.Add(1)
	tr.mu.Lock()
	started, returned := tr.channels(id)
	closeOnce(started)
	tr.mu.Unlock()
	defer func() {
		v := recover()
		tr.mu.Lock()
		if v != nil {
			tr.panics = append(tr.panics, fmt.Sprintf("%s (request %s): %v\n%s", c.Request.URL, id, v, debug.Stack()))
		}
		tr.runs[c.FullPath()]++
		closeOnce(returned)
		tr.mu.Unlock()
		tr.active.Add(-1)
	}()
	c.Next()
}

// hook is the handlers' OnReport.
func (tr *requestTracker) hook(c *gin.Context, r sink.Report) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.reports[c.FullPath()] = append(tr.reports[c.FullPath()], r)
}

// waitIdle waits until no handler is running.
func (tr *requestTracker) waitIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(faultPatience)
	for tr.active.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d handlers still running %v after the last client left", tr.active.Load(), faultPatience)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// disconnectTarget is a handler that the clients of TestRandomDisconnects
// leave at random points.
type disconnectTarget struct {
	name    string
	route   string      // the gin route
	path    string      // the path and query to request
	header  http.Header // request headers
	body    []byte      // the whole body or, for an endless stream, what it starts with
	endless bool        // the stream goes on after body until the client leaves
	reports bool        // the handler reports its streams through OnReport
}

// TestRandomDisconnects: clients leave every handler at random points —
// before the response headers, or after reading a random number of bytes
// from none to all of the body, by closing the body or cancelling the
// request — over HTTP/1.1 and HTTP/2, four clients at a time. Whatever the
// point: every handler returns, none panics, every stream reports, as
// completed or client gone, nothing is logged above what a sink logs for
// a client gone (debug, outcome client_gone), the bytes read are those of
// the source, a body read to its end is byte-exact (SHA-256), and no
// goroutine is left (also checked at the package's end by TestMain).
// 100 disconnects in all; 1,000 with -tags long.
func TestRandomDisconnects(t *testing.T) {
	pgtest.Shared(t) // started outside the leak check: it outlives the test
	faultNoLeaks(t)
	seed := faultSeed(t)
	total := testscale.Pick(100, 1000)

	tr := newRequestTracker()
	logs := &logRecorder{}
	logger := logs.logger()
	engine := gin.New()
	engine.Use(tr.middleware)
	var targets []disconnectTarget

	// Files, and a download of the same file.
	dir := t.TempDir()
	fileBody := randomBytes(256 << 10)
	if err := os.WriteFile(filepath.Join(dir, "data.bin"), fileBody, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() }) // after the servers have closed
	engine.GET("/files/:name", handlers.Files{Root: root}.Handler())
	engine.GET("/download/:name", handlers.Files{Root: root, Attachment: true}.Handler())
	targets = append(targets,
		disconnectTarget{name: "Files", route: "/files/:name", path: "/files/data.bin", body: fileBody},
		disconnectTarget{name: "Attachment", route: "/download/:name", path: "/download/data.bin", body: fileBody})

	// Export, CSV and NDJSON, on PostgreSQL.
	const exportRows = 5000
	streams := sink.Config{OnReport: tr.hook, Logger: logger}
	export := handlers.Export{
		DB:     pgtest.DB(t),
		Query:  "SELECT g AS id, 'user ' || g AS name FROM generate_series(1, $1::int) g",
		Args:   []any{exportRows},
		Config: streams,
	}
	engine.GET("/export", export.Handler())
	targets = append(targets,
		disconnectTarget{name: "Export CSV", route: "/export", path: "/export?format=csv", body: exportCSV(exportRows), reports: true},
		disconnectTarget{name: "Export NDJSON", route: "/export", path: "/export?format=ndjson", body: exportNDJSON(exportRows), reports: true})

	// Numbers.
	const numbers = 20_000
	engine.GET("/numbers", handlers.Numbers{Config: streams}.Handler())
	targets = append(targets, disconnectTarget{name: "Numbers", route: "/numbers",
		path: "/numbers?interval=0&count=" + strconv.Itoa(numbers), body: []byte(numberLines(numbers)), reports: true})

	// Tail: the history, then it waits for more.
	var history bytes.Buffer
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&history, "tail line %d\n", i)
	}
	tailPath := filepath.Join(dir, "tail.log")
	if err := os.WriteFile(tailPath, history.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tail := handlers.Tail{Path: tailPath, PollInterval: 5 * time.Millisecond, Config: streams}
	engine.GET("/tail", tail.Handler())
	targets = append(targets, disconnectTarget{name: "Tail", route: "/tail", path: "/tail?lines=2000",
		body: history.Bytes(), endless: true, reports: true})

	// Proxy of an upstream streaming a body in irregular pieces.
	proxyBody := randomBytes(256 << 10)
	up := proxyUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		writeInPieces(w, proxyBody)
	}, 0)
	proxy := handlers.Proxy{URL: up.URL, Client: proxyClient(t, 0), Config: streams}
	engine.GET("/proxy", proxy.Handler())
	targets = append(targets, disconnectTarget{name: "Proxy", route: "/proxy", path: "/proxy",
		header: http.Header{"Accept-Encoding": {"identity"}}, body: proxyBody, reports: true})

	// The servers, before the hubs: their cleanups close the hubs first,
	// which ends any stream still open.
	servers := []struct {
		name   string
		client *http.Client
		url    string
	}{{name: "HTTP1.1"}, {name: "HTTP2"}}
	for i := range servers {
		servers[i].client, servers[i].url = loopback.Serve(t, i == 1, engine, 32<<10)
	}

	// Events: a client resuming from the first of 300 events gets the
	// other 299 replayed, then waits for more.
	retry := fmt.Appendf(nil, "retry: %d\n\n", sse.DefaultRetry.Milliseconds())
	hub := &sse.MemHub{}
	t.Cleanup(func() { hub.Close() })
	events := handlers.Events{Hub: hub, Topics: []string{"news"}, Heartbeat: -1, Config: streams}
	engine.GET("/events", events.Handler())
	eventsBody := bytes.Clone(retry)
	var firstID string
	for i := range 300 {
		e := ssePublish(t, hub, "news", sse.Event{Name: "story", Data: fmt.Sprintf("event %d\nof 300", i)})
		if i == 0 {
			firstID = e.ID
			continue
		}
		if eventsBody, err = (sse.EventEncoder{}).Append(eventsBody, e); err != nil {
			t.Fatal(err)
		}
	}
	targets = append(targets, disconnectTarget{name: "Events", route: "/events", path: "/events",
		header: http.Header{"Last-Event-ID": {firstID}}, body: eventsBody, endless: true, reports: true})

	// LogEvents: the newest 300 lines of a followed log, then it waits for
	// more.
	// (A hub buffer above 300: the test's own subscriber must not fall
	// behind and be dropped while the 300 lines are published at once.)
	logEvents := &handlers.LogEvents{Path: filepath.Join(dir, "app.log"), Hub: &sse.MemHub{Buffer: 1024},
		PollInterval: 5 * time.Millisecond, Heartbeat: -1, Config: streams}
	logBody := startLogEvents(t, logEvents, 300)
	engine.GET("/logs", logEvents.Handler())
	targets = append(targets, disconnectTarget{name: "LogEvents", route: "/logs", path: "/logs?lines=300",
		body: append(bytes.Clone(retry), logBody...), endless: true, reports: true})

	// Each client takes every fourth request; request i's choices come
	// from the seed and i alone.
	const clients = 4
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			for i := w; i < total; i += clients {
				target := targets[i%len(targets)]
				srv := servers[(i/len(targets))%len(servers)]
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				if err := disconnectOnce(tr, srv.client, srv.url, target, strconv.Itoa(i), rng); err != nil {
					t.Errorf("request %d, %s over %s: %v", i, target.name, srv.name, err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	tr.waitIdle(t)

	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, p := range tr.panics {
		t.Errorf("a handler panicked: %s", p)
	}
	var outcomes []string
	seen := map[string]bool{}
	for _, target := range targets {
		if !target.reports || seen[target.route] {
			continue
		}
		seen[target.route] = true
		reports := tr.reports[target.route]
		if len(reports) != tr.runs[target.route] {
			t.Errorf("%s: %d reports for %d streams", target.route, len(reports), tr.runs[target.route])
		}
		count := map[sink.Outcome]int{}
		for _, r := range reports {
			count[r.Outcome]++
			if r.Outcome != sink.ClientGone && (r.Outcome != sink.Completed || target.endless) {
				t.Errorf("%s: report %v (%v), want client_gone or, for a finite stream, completed", target.route, r.Outcome, r.Err)
			}
		}
		outcomes = append(outcomes, fmt.Sprintf("%s %d completed, %d client gone", target.route, count[sink.Completed], count[sink.ClientGone]))
	}
	for _, r := range logs.worseThanClientGone() {
		t.Errorf("logged worse than a client gone: %v", r)
	}
	t.Logf("seed %d: %d of %d disconnects over %d handlers × 2 protocols; %d log records, all client gone; %s",
		seed, done.Load(), total, len(targets), logs.count(), strings.Join(outcomes, "; "))
}

// disconnectOnce requests target as request id and leaves at a point
// chosen by rng. It returns once the handler has returned, or an error
// saying what went wrong.
func disconnectOnce(tr *requestTracker, client *http.Client, base string, target disconnectTarget, id string, rng *rand.Rand) error {
	ctx, cancel := context.WithTimeout(context.Background(), faultPatience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+target.path, nil)
	if err != nil {
		return err
	}
	for k, v := range target.header {
		req.Header[k] = v
	}
	req.Header.Set(faultIDHeader, id)
	started, returned := tr.expect(id)
	waitReturned := func() error {
		select {
		case <-returned:
			return nil
		case <-time.After(faultPatience):
			return fmt.Errorf("the handler has not returned %v after the client left", faultPatience)
		}
	}

	if rng.IntN(8) == 0 {
		// Leave before the response headers, once the handler runs.
		type result struct {
			resp *http.Response
			err  error
		}
		results := make(chan result, 1)
		go func() {
			resp, err := client.Do(req)
			results <- result{resp, err}
		}()
		select {
		case <-started:
		case <-time.After(faultPatience):
			cancel()
			<-results
			return fmt.Errorf("the handler did not start within %v", faultPatience)
		}
		cancel()
		if r := <-results; r.resp != nil {
			r.resp.Body.Close()
		}
		return waitReturned()
	}

	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("status %s", resp.Status)
	}
	n := rng.IntN(len(target.body) + 1)
	closeBody := rng.IntN(2) == 0
	got := make([]byte, n)
	_, err = io.ReadFull(resp.Body, got)
	if err == nil && !bytes.Equal(got, target.body[:n]) {
		err = fmt.Errorf("the first %d bytes differ from the source's", n)
	}
	if err == nil && n == len(target.body) && !target.endless {
		// Read to the end: it must be clean, and the body exact.
		var rest []byte
		rest, err = io.ReadAll(resp.Body)
		switch {
		case err != nil:
			err = fmt.Errorf("the body ended with %v after all %d bytes", err, n)
		case sha256.Sum256(append(got, rest...)) != sha256.Sum256(target.body):
			err = fmt.Errorf("SHA-256 of the %d bytes received differs from the source's (%d bytes)", n+len(rest), len(target.body))
		}
	}
	if closeBody {
		resp.Body.Close()
	} else {
		cancel()
		resp.Body.Close()
	}
	if err != nil {
		return err
	}
	return waitReturned()
}

// exportCSV is the CSV export of n rows of the query of TestRandomDisconnects.
func exportCSV(n int) []byte {
	b := []byte("id,name\n")
	for i := 1; i <= n; i++ {
		b = fmt.Appendf(b, "%d,user %d\n", i, i)
	}
	return b
}

// exportNDJSON is the NDJSON export of the same rows.
func exportNDJSON(n int) []byte {
	var b []byte
	for i := 1; i <= n; i++ {
		b = fmt.Appendf(b, `{"id":%d,"name":"user %d"}`+"\n", i, i)
	}
	return b
}

// startLogEvents starts l.Run on a new log file at l.Path, appends n lines
// once it follows the file, and returns the frames of those lines as the
// hub published them. Run is stopped and its hub closed when the test
// ends.
func startLogEvents(t *testing.T, l *handlers.LogEvents, n int) []byte {
	t.Helper()
	if err := os.WriteFile(l.Path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hub := l.Hub.(*sse.MemHub)
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		hub.Close()
		<-runErr
	})

	// A subscription of the test's own collects what Run publishes.
	frames := make(chan sse.Frame, n+64) // never full: a slow subscriber would be dropped
	subCtx, stop := context.WithCancel(context.Background())
	subDone := make(chan error, 1)
	go func() {
		subDone <- hub.Subscribe(subCtx, "logs", "", func(f sse.Frame) error {
			select {
			case frames <- f:
				return nil
			case <-subCtx.Done():
				return context.Cause(subCtx)
			}
		})
	}()
	defer func() { stop(); <-subDone }()
	sseWaitSubscribers(t, hub, "logs", 1)
	appendLines := func(lines string) {
		f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(lines); err != nil {
			t.Fatal(err)
		}
	}
	// Run follows the file from its end once it has opened it: append
	// lines until one is published.
	timeout := time.After(faultPatience)
	for i := 0; ; i++ {
		appendLines(fmt.Sprintf("ready %d\n", i))
		select {
		case <-frames:
		case <-time.After(20 * time.Millisecond):
			continue
		case <-timeout:
			t.Fatalf("Run published none of the lines appended within %v", faultPatience)
		}
		break
	}
	var lines strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&lines, "log line %d\n", i)
	}
	appendLines(lines.String())
	var body []byte
	for i := 1; i <= n; {
		select {
		case f := <-frames:
			if !strings.HasPrefix(f.Event().Data, "log line ") {
				continue // a late "ready" line
			}
			body, _ = (sse.FrameEncoder{}).Append(body, f)
			i++
		case err := <-subDone:
			subDone <- err // for the deferred join
			t.Fatalf("the test's subscription ended after %d of the %d lines: %v", i-1, n, err)
		case <-timeout:
			t.Fatalf("Run published %d of the %d lines within %v", i-1, n, faultPatience)
		}
	}
	return body
}

// proxyFault is a way for a proxy's upstream to fail.
type proxyFault struct {
	name       string
	upstream   http.HandlerFunc // nil: nothing listens at the upstream's address
	proxy      handlers.Proxy   // URL and Client are filled in
	timeout    time.Duration    // if not zero, the proxy's Client.Timeout
	wantStatus int              // the status of a failure before the body; 0 for a failed transfer after 200
}

// upstreamPart is what the failing upstreams send of their body before
// they fail.
var upstreamPart = randomBytes(48 << 10)

// hijackUpstream returns an upstream handler that writes raw to the
// connection and then closes it, resetting it (SetLinger(0): RST instead
// of FIN) if reset is set.
func hijackUpstream(raw []byte, reset bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		buf.Write(raw)
		buf.Flush()
		if reset {
			conn.(*net.TCPConn).SetLinger(0)
		}
		conn.Close()
	}
}

// partThen returns an upstream handler that sends the headers and
// upstreamPart, flushed, and then does then.
func partThen(then func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(upstreamPart)
		if err := http.NewResponseController(w).Flush(); err != nil {
			return
		}
		then(w, r)
	}
}

// resetAfterPart sends upstreamPart, then resets the connection
// (SetLinger(0), so the proxy reads ECONNRESET rather than EOF).
func resetAfterPart(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

// TestProxyUpstreamFaults: however the upstream fails — refused, reset or
// closed before or in the middle of its body, a body shorter than its
// Content-Length, a handler aborting, silence past the header timeout or
// past the client's timeout in the middle of the body — the proxy's client
// detects it: an error status (502, 504) before the first byte, a failed
// transfer after it, whose bytes are a prefix of the upstream's; the
// stream reports failed. And the next request through the same proxy
// client is served in full. Over HTTP/1.1 and HTTP/2, with and without
// gin's Recovery.
func TestProxyUpstreamFaults(t *testing.T) {
	faultNoLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/"
	l.Close()

	waitForCancel := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	faults := []proxyFault{
		{name: "connection refused", wantStatus: 502},
		{name: "reset before the headers", upstream: hijackUpstream(nil, true), wantStatus: 502},
		{name: "closed after the headers", upstream: hijackUpstream([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), false), wantStatus: 502},
		{name: "reset in the middle of the body", upstream: partThen(resetAfterPart)},
		{name: "closed in the middle of the body", upstream: hijackUpstream(
			append([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"+strconv.FormatInt(int64(len(upstreamPart)), 16)+"\r\n"), upstreamPart...), false)},
		{name: "a body shorter than Content-Length", upstream: hijackUpstream(
			append(fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 2*len(upstreamPart)), upstreamPart...), false)},
		{name: "the upstream handler aborts", upstream: partThen(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })},
		{name: "silent past HeaderTimeout", upstream: waitForCancel,
			proxy: handlers.Proxy{ResponseHeaderTimeout: 100 * time.Millisecond}, wantStatus: 504},
		{name: "silent past Client.Timeout before the body", upstream: waitForCancel, timeout: 200 * time.Millisecond, wantStatus: 504},
		{name: "silent past Client.Timeout in the middle of the body", upstream: partThen(waitForCancel), timeout: 500 * time.Millisecond},
	}
	good := randomBytes(256 << 10)
	upstream := http.NewServeMux()
	upstream.HandleFunc("/good", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		writeInPieces(w, good)
	})
	for i, f := range faults {
		if f.upstream != nil {
			upstream.HandleFunc("/"+strconv.Itoa(i), f.upstream)
		}
	}
	up := proxyUpstream(t, upstream.ServeHTTP, 0)
	shared := proxyClient(t, 0) // every proxy's, so that a failure may spoil its pool

	for _, v := range proxyVersions {
		for _, recovery := range []bool{false, true} {
			name := v.name + " without Recovery"
			if recovery {
				name = v.name + " with Recovery"
			}
			t.Run(name, func(t *testing.T) {
				reports := make(chan sink.Report, 4)
				streams := sink.Config{OnReport: func(_ *gin.Context, r sink.Report) { reports <- r }, Logger: quiet}
				engine := gin.New()
				if recovery {
					engine.Use(gin.Recovery())
				}
				engine.GET("/good", handlers.Proxy{URL: up.URL + "/good", Client: shared, Config: streams}.Handler())
				for i, f := range faults {
					p := f.proxy
					p.URL, p.Client, p.Config = refused, shared, streams
					if f.upstream != nil {
						p.URL = up.URL + "/" + strconv.Itoa(i)
					}
					if f.timeout > 0 {
						c := *shared
						c.Timeout = f.timeout
						p.Client = &c
					}
					engine.GET("/"+strconv.Itoa(i), p.Handler())
				}
				client, base := loopback.Serve(t, v.http2, engine, 0)
				client.Transport.(*http.Transport).DisableCompression = true

				for i, f := range faults {
					t.Run(f.name, func(t *testing.T) {
						resp := proxyGet(t, t.Context(), client, base+"/"+strconv.Itoa(i), nil)
						body, err := io.ReadAll(resp.Body)
						switch {
						case f.wantStatus != 0 || resp.StatusCode != http.StatusOK:
							// A fault meant for the middle of the body may
							// reach the proxy before it has read the first
							// byte (an RST can drop what was received):
							// an error status is as detectable then.
							if resp.StatusCode != f.wantStatus && (f.wantStatus != 0 || resp.StatusCode < 500) || err != nil {
								t.Errorf("%d %q, %v; want %s", resp.StatusCode, body, err, map[bool]string{
									true: strconv.Itoa(f.wantStatus) + " and a complete error message", false: "200 then a failed transfer"}[f.wantStatus != 0])
							}
							// A server error's body is its status alone:
							// the upstream's address and error are logged.
							if want := fmt.Sprintf("%d %s\n", resp.StatusCode, http.StatusText(resp.StatusCode)); err == nil && string(body) != want {
								t.Errorf("body %q, want %q", body, want)
							}
							if f.wantStatus == 0 {
								t.Logf("the upstream's failure came before the first byte: %d %q", resp.StatusCode, body)
							}
						case err == nil:
							t.Errorf("the body ended cleanly after %d bytes: a failed upstream looks complete", len(body))
						case !v.http2 && !errors.Is(err, syscall.ECONNRESET):
							t.Errorf("reading the body: %v; want a connection reset", err)
						case v.http2 && !strings.Contains(err.Error(), "stream error"):
							t.Errorf("reading the body: %v; want a stream error (RST_STREAM)", err)
						case !bytes.HasPrefix(upstreamPart, body):
							t.Errorf("the %d bytes received are not a prefix of what the upstream sent", len(body))
						}
						if r := nextReport(t, reports); r.Outcome != sink.Failed {
							t.Errorf("report %v (%v), want failed", r.Outcome, r.Err)
						}

						// The next request through the same proxy client.
						resp = proxyGet(t, t.Context(), client, base+"/good", nil)
						body, err = io.ReadAll(resp.Body)
						if err != nil || resp.StatusCode != http.StatusOK || sha256.Sum256(body) != sha256.Sum256(good) {
							t.Errorf("the next request: %d, %d bytes, %v; want 200 and the %d bytes of the upstream", resp.StatusCode, len(body), err, len(good))
						}
						if r := nextReport(t, reports); r.Outcome != sink.Completed {
							t.Errorf("the next request: report %v (%v), want completed", r.Outcome, r.Err)
						}
					})
				}
			})
		}
	}
}

// exportRowsQuery returns n rows, (n, 'row n'); with sleepFirst it waits a
// minute before its first row (a one-time filter), for the test to kill it
// there.
func exportRowsQuery(sleepFirst bool) string {
	const q = "SELECT g AS n, 'row ' || g AS label FROM generate_series(1, $1::int) g"
	if sleepFirst {
		return q + " WHERE (SELECT 1 FROM pg_sleep(60)) = 1"
	}
	return q
}

// exportRowsBody is the export of exportRowsQuery's n rows in format,
// byte for byte.
func exportRowsBody(n int, format string) []byte {
	var b []byte
	if format == "csv" {
		b = append(b, "n,label\n"...)
	}
	for i := 1; i <= n; i++ {
		if format == "csv" {
			b = fmt.Appendf(b, "%d,row %d\n", i, i)
		} else {
			b = fmt.Appendf(b, `{"n":%d,"label":"row %d"}`+"\n", i, i)
		}
	}
	return b
}

// exportRowsPrefix checks got, the body a client received of the export
// want: want itself if the transfer ended cleanly, and a prefix of it if
// the transfer failed — whole rows, then perhaps the start of the next row,
// never a wrong, skipped or repeated row, nor anything after the rows.
// It returns nil, or an error saying where got goes wrong.
func exportRowsPrefix(got, want []byte, clean bool) error {
	i := 0 // the first byte where got and want differ
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	line := bytes.Count(got[:i], []byte("\n")) + 1
	excerpt := func(b []byte) []byte { return b[i:min(len(b), i+80)] }
	switch {
	case i < len(got) && i < len(want):
		return fmt.Errorf("byte %d (line %d) differs from the export: received %q, want %q", i, line, excerpt(got), excerpt(want))
	case i < len(got):
		return fmt.Errorf("%d bytes after the %d of the whole export: %q", len(got)-len(want), len(want), excerpt(got))
	case clean && i < len(want):
		return fmt.Errorf("a clean end after %d of the %d bytes (line %d), before %q", i, len(want), line, excerpt(want))
	}
	return nil
}

// readExportRows reads an export of rows (n, "row n") in format, checking
// each, and returns how many it read and how the body ended: nil for a
// clean end. Reading stops after stopAfter rows unless it is negative; the
// error is then nil.
func readExportRows(body io.Reader, format string, stopAfter int) (int, error) {
	check := func(i int, n, label string) error {
		if n != strconv.Itoa(i) || label != "row "+n {
			return fmt.Errorf("row %d is (%q, %q)", i, n, label)
		}
		return nil
	}
	rows := 0
	if format == "csv" {
		r := csv.NewReader(body)
		header, err := r.Read()
		if err == io.EOF {
			return 0, errors.New("an empty CSV body, without the header")
		} else if err != nil {
			return 0, err
		}
		if strings.Join(header, ",") != "n,label" {
			return 0, fmt.Errorf("header %q", header)
		}
		for rows != stopAfter {
			rec, err := r.Read()
			if err == io.EOF {
				return rows, nil
			} else if err != nil {
				return rows, err
			}
			if err := check(rows+1, rec[0], rec[1]); err != nil {
				return rows, err
			}
			rows++
		}
		return rows, nil
	}
	br := bufio.NewReader(body)
	for rows != stopAfter {
		line, err := br.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			return rows, nil
		} else if err == io.EOF {
			return rows, fmt.Errorf("a last line without its line feed: %q", line)
		} else if err != nil {
			return rows, err
		}
		var row struct {
			N     int    `json:"n"`
			Label string `json:"label"`
		}
		if err := json.Unmarshal(line, &row); err != nil {
			return rows, fmt.Errorf("line %d: %v", rows+1, err)
		}
		if err := check(rows+1, strconv.Itoa(row.N), row.Label); err != nil {
			return rows, err
		}
		rows++
	}
	return rows, nil
}

// terminate kills the database backends running a query that contains
// marker (but not the monitor's own), and returns how many it killed.
func terminate(ctx context.Context, monitor *sql.DB, marker string) (int, error) {
	var n int
	err := monitor.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE '%' || $1 || '%'`, marker).Scan(&n)
	return n, err
}

// TestExportRowsExactOrLoud: an export of N rows (0, 1, several batches,
// many batches) delivers exactly its N rows — the client compares the
// bytes with the export's — or fails loudly: an error status, or a failed
// transfer after a prefix of the export (whole rows, then perhaps the
// start of the next one; never a wrong, skipped or extra row). So it goes
// whether the export runs undisturbed, its database connection is killed
// (pg_terminate_backend) before its first row, or after the client has
// read a random number of rows. After each kill, the next export from the
// same pool delivers all its rows. CSV and NDJSON, over HTTP/1.1 and
// HTTP/2, on PostgreSQL. With -tags long, each kill is repeated at 10
// random points.
func TestExportRowsExactOrLoud(t *testing.T) {
	srv := pgtest.Shared(t)
	faultNoLeaks(t)
	seed := faultSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	dsn := srv.NewDatabase(t)
	pool, monitor := pgtest.Open(t, dsn), pgtest.Open(t, dsn)
	monitor.SetMaxOpenConns(1)

	reports := make(chan sink.Report, 64) // never full: a test that fails leaves its report
	engine := gin.New()
	engine.Use(gin.Recovery())
	engine.GET("/rows", func(c *gin.Context) {
		n, ok := handlers.IntQuery(c, "n", 0, 0, 10_000_000)
		if !ok {
			return
		}
		e := handlers.Export{DB: pool, Query: exportRowsQuery(c.Query("sleep") != ""), Args: []any{n},
			Config: sink.Config{OnReport: func(_ *gin.Context, r sink.Report) { reports <- r }, Logger: quiet}}
		e.Handler()(c)
	})
	sizes := []int{0, 1, 3000, testscale.Pick(10_000, 200_000)}
	rounds := testscale.Pick(1, 10)
	var killed, completed, failed atomic.Int64
	for _, v := range httpVersions {
		client, base := serveOver(t, v, engine)
		for _, format := range []string{"csv", "ndjson"} {
			for _, n := range sizes {
				get := func(t *testing.T, sleep bool) *http.Response {
					url := fmt.Sprintf("%s/rows?n=%d&format=%s", base, n, format)
					if sleep {
						url += "&sleep=1"
					}
					return exportGet(t, client, url)
				}
				want := exportRowsBody(n, format)
				// exact checks an export that nothing disturbs: its body
				// is the export, byte for byte.
				exact := func(t *testing.T, what string) {
					t.Helper()
					resp := get(t, false)
					body, err := io.ReadAll(resp.Body)
					if resp.StatusCode != http.StatusOK || err != nil {
						t.Errorf("%s: %d, %v after %d bytes; want 200 and exactly %d rows", what, resp.StatusCode, err, len(body), n)
					} else if err := exportRowsPrefix(body, want, true); err != nil {
						t.Errorf("%s of %d rows: %v", what, n, err)
					}
					if r := nextReport(t, reports); r.Outcome != sink.Completed {
						t.Errorf("%s: report %v (%v), want completed", what, r.Outcome, r.Err)
					}
				}
				name := fmt.Sprintf("%s/%s/%d rows", v.name, format, n)
				t.Run(name+"/undisturbed", func(t *testing.T) { exact(t, "the export") })

				t.Run(name+"/killed before the first row", func(t *testing.T) {
					type result struct {
						resp *http.Response
						body []byte
						err  error
					}
					results := make(chan result, 1)
					go func() {
						ctx, cancel := context.WithTimeout(context.Background(), faultPatience)
						defer cancel()
						req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/rows?n=%d&format=%s&sleep=1", base, n, format), nil)
						resp, err := client.Do(req)
						if err != nil {
							results <- result{err: err}
							return
						}
						defer resp.Body.Close()
						body, err := io.ReadAll(resp.Body)
						results <- result{resp, body, err}
					}()
					deadline := time.Now().Add(faultPatience)
					for {
						k, err := terminate(t.Context(), monitor, "pg_sleep(60)")
						if err != nil {
							t.Fatal(err)
						}
						if k > 0 {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("no export query to kill within %v", faultPatience)
						}
						time.Sleep(5 * time.Millisecond)
					}
					killed.Add(1)
					r := <-results
					switch {
					case r.err != nil:
						t.Fatalf("the request: %v", r.err)
					case r.resp.StatusCode != http.StatusInternalServerError:
						t.Errorf("%d %q; want 500 for an export killed before its first row", r.resp.StatusCode, r.body)
					case r.resp.Header.Get("Content-Disposition") != "":
						t.Errorf("Content-Disposition on an error")
					}
					if rep := nextReport(t, reports); rep.Outcome != sink.Failed {
						t.Errorf("report %v (%v), want failed", rep.Outcome, rep.Err)
					}
					failed.Add(1)
					exact(t, "the next export")
				})

				if n == 0 {
					continue
				}
				t.Run(name+"/killed after a random number of rows", func(t *testing.T) {
					for range rounds {
						after := 1 + rng.IntN(n)
						resp := get(t, false)
						if resp.StatusCode != http.StatusOK {
							t.Fatalf("status %d", resp.StatusCode)
						}
						br := bufio.NewReader(resp.Body)
						// Read the first rows, then kill the export's
						// connection, then read the rest.
						var first bytes.Buffer
						if _, err := readExportRows(io.TeeReader(br, &first), format, after); err != nil {
							t.Fatalf("the first %d rows: %v", after, err)
						}
						k, err := terminate(t.Context(), monitor, "generate_series(1, $1::int)")
						if err != nil {
							t.Fatal(err)
						}
						killed.Add(int64(k))
						// The reader above may have read ahead: first holds
						// all it read. A failure after them is loud only if
						// what came before it is right.
						rest, err := io.ReadAll(br)
						body := append(first.Bytes(), rest...)
						rows := bytes.Count(body, []byte("\n"))
						if format == "csv" {
							rows-- // the header
						}
						switch perr := exportRowsPrefix(body, want, err == nil); {
						case perr != nil && err == nil:
							t.Errorf("the export ended cleanly, wrong: %v (killed after %d rows, %d backends)", perr, after, k)
						case perr != nil:
							t.Errorf("the export failed (%v) after %d bytes that are not all the export's: %v (killed after %d rows, %d backends)",
								err, len(body), perr, after, k)
						case err == nil:
							completed.Add(1) // the rows had all left the database
						default:
							failed.Add(1)
						}
						rep := nextReport(t, reports)
						if (err == nil) != (rep.Outcome == sink.Completed) || (err != nil && rep.Outcome != sink.Failed) {
							t.Errorf("client read %d rows (%v); report %v (%v)", rows, err, rep.Outcome, rep.Err)
						}
						exact(t, "the next export")
					}
				})
			}
		}
	}
	t.Logf("seed %d: %d backends killed; exports after a kill: %d complete with every row, %d failed loudly", seed, killed.Load(), completed.Load(), failed.Load())
}

// TestFollowFaultsWhileReading: a followed log file changes while the
// follower is in the middle of a large backlog, held back by a client that
// reads slowly (small socket buffers): truncated, copied and truncated
// (logrotate's copytruncate), deleted and created again, or rotated twice
// in quick succession. The client gets whole lines, in order, never one
// twice: a prefix of the backlog (all of it when the file followed stays
// whole), then the lines of the new file. Over HTTP/1.1 and HTTP/2.
func TestFollowFaultsWhileReading(t *testing.T) {
	backlog := testscale.Pick(50_000, 1_000_000)
	cases := []struct {
		name string
		// act changes the file at path; it returns the lines of the new
		// file that must arrive and whether the whole backlog must.
		act          func(t *testing.T, path string) (want []string, wholeBacklog bool)
		mayMissFirst bool // the first line of want may be missed (a file rotated away between two polls)
	}{{
		name: "truncated",
		act: func(t *testing.T, path string) ([]string, bool) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			linestest.AppendFile(t, path, "new 1\nnew 2\n")
			return []string{"new 1", "new 2"}, false
		},
	}, {
		name: "copied and truncated",
		act: func(t *testing.T, path string) ([]string, bool) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path+".1", data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(0); err != nil {
				t.Fatal(err)
			}
			linestest.AppendFile(t, path, "new 1\n")
			return []string{"new 1"}, false
		},
	}, {
		name: "deleted and created again",
		act: func(t *testing.T, path string) ([]string, bool) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			linestest.AppendFile(t, path, "new 1\nnew 2\n")
			return []string{"new 1", "new 2"}, true
		},
	}, {
		name: "rotated twice quickly",
		act: func(t *testing.T, path string) ([]string, bool) {
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			linestest.AppendFile(t, path, "second\n")
			if err := os.Rename(path, path+".2"); err != nil {
				t.Fatal(err)
			}
			linestest.AppendFile(t, path, "third 1\nthird 2\n")
			return []string{"second", "third 1", "third 2"}, true
		},
		mayMissFirst: true,
	}}
	seed := faultSeed(t)
	for _, v := range httpVersions {
		for ci, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, uint64(ci)))
				path := filepath.Join(t.TempDir(), "app.log")
				if err := os.WriteFile(path, []byte("start\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				reports := make(chan sink.Report, 1)
				tail := handlers.Tail{Path: path, PollInterval: 5 * time.Millisecond,
					Config: sink.Config{OnReport: func(_ *gin.Context, r sink.Report) { reports <- r }, Logger: quiet}}
				engine := gin.New()
				engine.GET("/logs", tail.Handler())
				client, base := loopback.Serve(t, v.http2, engine, 16<<10)
				// faultPatience bounds each wait for a byte, not the whole
				// transfer: on a busy machine a megabytes-long backlog
				// through 16 KiB buffers over HTTP/1.1 takes longer than
				// that, moving all the while.
				ctx, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/logs?lines=1", nil)
				resp, err := patiently(cancel, func() (*http.Response, error) { return client.Do(req) })
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				br := bufio.NewReader(patientBody{resp.Body, cancel})
				line := func() string {
					s, err := br.ReadString('\n')
					if err != nil {
						t.Fatalf("reading a line: %v (after %q)", err, s)
					}
					return strings.TrimSuffix(s, "\n")
				}
				if s := line(); s != "start" {
					t.Fatalf("first line %q, want start", s)
				}

				var b strings.Builder
				for i := 1; i <= backlog; i++ {
					fmt.Fprintf(&b, "backlog %d\n", i)
				}
				linestest.AppendFile(t, path, b.String())
				// Read part of it; the follower is held back further on.
				read := 1 + rng.IntN(backlog/2)
				for i := 1; i <= read; i++ {
					if s := line(); s != "backlog "+strconv.Itoa(i) {
						t.Fatalf("line %q, want backlog %d", s, i)
					}
				}
				want, wholeBacklog := tc.act(t, path)
				linestest.AppendFile(t, path, "after\n") // to the file at path now
				want = append(want, "after")

				next := read + 1
				s := line()
				for ; strings.HasPrefix(s, "backlog "); s = line() {
					if s != "backlog "+strconv.Itoa(next) {
						t.Fatalf("line %q after backlog %d: lines out of order, repeated or cut", s, next-1)
					}
					next++
				}
				if wholeBacklog && next != backlog+1 {
					t.Fatalf("backlog %d to %d missing before %q; the file followed was whole", next, backlog, s)
				}
				if tc.mayMissFirst && s != want[0] {
					want = want[1:]
				}
				for i, w := range want {
					if i > 0 {
						s = line()
					}
					if s != w {
						t.Fatalf("line %q after the backlog (%d of %d lines), want %q of %q", s, next-1, backlog, w, want)
					}
				}
				t.Logf("%d of %d backlog lines read before the change, %d in all", read, backlog, next-1)
				cancel(nil)
				select {
				case r := <-reports:
					if r.Outcome != sink.ClientGone {
						t.Errorf("report %v (%v), want client_gone", r.Outcome, r.Err)
					}
				case <-time.After(faultPatience):
					t.Fatalf("the stream did not end within %v of the client leaving", faultPatience)
				}
			})
		}
	}
}

// errNoProgress is why a fault test's client gives up on a response: it
// waited faultPatience for the next byte.
var errNoProgress = fmt.Errorf("no progress for %v", faultPatience)

// patiently returns f(), cancelling the request with errNoProgress if f
// takes faultPatience.
func patiently[T any](cancel context.CancelCauseFunc, f func() (T, error)) (T, error) {
	timer := time.AfterFunc(faultPatience, func() { cancel(errNoProgress) })
	defer timer.Stop()
	return f()
}

// patientBody reads a response body, giving each read faultPatience (see
// patiently) rather than the whole body: a stream that keeps moving,
// however slowly a busy machine moves it, has not stalled.
type patientBody struct {
	r      io.Reader
	cancel context.CancelCauseFunc // the request's
}

func (b patientBody) Read(p []byte) (int, error) {
	return patiently(b.cancel, func() (int, error) { return b.r.Read(p) })
}

// TestPatientBody: a fault test's client gives up on a response when one
// wait for a byte lasts faultPatience, however long the whole response
// takes. Its body here is a pipe that sends a line after each gap, on the
// fake clock of a synctest bubble, and fails once the request is cancelled,
// as the transport's does.
func TestPatientBody(t *testing.T) {
	cases := []struct {
		name  string
		gaps  []time.Duration // before each line
		lines int             // read before the body ends
		err   error           // how it ends; nil for io.EOF
	}{{
		name:  "slow and steady, longer in all than the patience",
		gaps:  []time.Duration{faultPatience / 2, faultPatience / 2, faultPatience / 2, faultPatience / 2, faultPatience / 2},
		lines: 5,
	}, {
		name:  "a wait as long as the patience",
		gaps:  []time.Duration{faultPatience / 2, faultPatience + time.Second, time.Second},
		lines: 1,
		err:   errNoProgress,
	}, {
		name: "no first byte",
		gaps: []time.Duration{2 * faultPatience},
		err:  errNoProgress,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				pr, pw := io.Pipe()
				stop := context.AfterFunc(ctx, func() { pw.CloseWithError(context.Cause(ctx)) })
				defer stop()
				sent := make(chan struct{})
				go func() {
					defer close(sent)
					for i, gap := range tc.gaps {
						time.Sleep(gap)
						if _, err := fmt.Fprintf(pw, "line %d\n", i); err != nil {
							return
						}
					}
					pw.Close()
				}()
				br := bufio.NewReader(patientBody{pr, cancel})
				lines := 0
				var err error
				for {
					if _, err = br.ReadString('\n'); err != nil {
						break
					}
					lines++
				}
				if err == io.EOF {
					err = nil
				}
				if lines != tc.lines || !errors.Is(err, tc.err) {
					t.Errorf("%d lines, then %v; want %d, then %v", lines, err, tc.lines, tc.err)
				}
				<-sent
			})
		})
	}
}
