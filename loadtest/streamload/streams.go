package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The demo's settings for the streams scenario.
const (
	// logInterval is the demo's -log-interval: how often its log grows.
	logInterval = 100 * time.Millisecond
	// logMaxBytes is the demo's -log-max-bytes: large enough that the log
	// is not rotated during a run, so that every line a client receives is
	// in the one file.
	logMaxBytes = 1 << 30
	// numbersInterval is the interval of the numbers streams, in ms.
	numbersInterval = 100
	// tailLinesAsked is the ?lines= of the log streams.
	tailLinesAsked = 10
	// proxiedCount is the count of the stream behind /proxy/numbers: the
	// numbers stream's default.
	proxiedCount = 100
	// endlessNumbers is what a stalled client asks for: more numbers, as
	// fast as they go, than the stall timeout lets through.
	endlessNumbers = "/stream/numbers?count=1000000000&interval=0"
)

// Memory bound of the streams scenario: the demo's RSS stays under its
// RSS before the load plus fixedAllowance plus defaultPerStream per client. Per stream the
// demo holds at most: the sink's batch buffer (64 KiB budget, plus the
// item that crosses it), the generator's buffer of up to 1,024 items
// (8 KiB of ints, 16 KiB of string headers for the log), net/http's
// connection buffers (4 KiB each way) and response, gin's context, and
// two to three goroutine stacks (8 KiB each, more while deep in a call);
// a proxied stream holds two of these (the proxy and its upstream) plus
// the transport's buffers and goroutines, and an export holds a database
// connection (SQLite page cache of the rows read). 256 KiB covers the
// largest of them with room for fragmentation and the garbage collector's
// headroom (GOGC=100 lets the heap grow to twice the live data before a
// collection).
const defaultPerStream = 256 << 10

// fixedAllowance is the part of the memory bound that does not grow with
// the streams: what the demo sets up once under load (the runtime's heap
// and stack pools, SQLite's caches, net/http's and the proxy's pools).
const fixedAllowance = 32 << 20

// flatSlack is what the peak of the hold's second half may exceed the
// first's by (scaled by the active streams): 10% plus this, for the garbage collector's saw-tooth (the
// heap grows to twice what is live before a collection) at small sizes.
const flatSlack = 8 << 20

// goroutineSlack is how far above its baseline the demo's goroutine count
// may stay once the load is over: the proxy's client keeps up to 16 idle
// connections to the demo itself (three goroutines each: the transport's
// read and write loops and the server's connection), plus a few
// goroutines of the runtime and of timers.
const goroutineSlack = 3*16 + 8

// rampTimeout bounds the wait for every client to have its first
// stream open.
const rampTimeout = 5 * time.Minute

// drainLimit bounds what a stalled client reads once it looks again.
const drainLimit = 256 << 20

// streamKind is the kind of stream a client opens.
type streamKind int

const (
	kindNumbers streamKind = iota
	kindExport
	kindProxy
	kindLogs
	kindStalled
	numKinds
)

var kindNames = [numKinds]string{"numbers", "export", "proxy", "logs", "stalled"}

// stallWait is how long a client that stopped reading waits before it
// reads again: past the stall timeout, with room for the server to fill
// the socket buffers before its writes block.
func stallWait(stall time.Duration) time.Duration { return 2*stall + 3*time.Second }

// streamsRun is one run of the streams scenario's clients against one
// server.
type streamsRun struct {
	cfg       config
	srv       *serverProcess
	export    [sha256.Size]byte // the export's checksum, downloaded alone
	exportLen int
	numbers   []byte // a numbers stream's body
	proxied   []byte // the proxied stream's body
	logLines  int    // lines a log client reads
	logs      *logIndex
	clients   int           // clients started
	stop      chan struct{} // closed when the hold ends
	dials     chan struct{} // a semaphore: connections being set up
	opened    atomic.Int64  // clients whose first stream has its headers
	allOpen   chan struct{} // closed when every client has
	tallies   [numKinds]tally
	drained   atomic.Int64 // bytes stalled clients read when they looked again
}

// newStreamsRun returns a run of clients streaming from srv, which runs
// with the settings of the streams scenario (a new log line every
// logInterval, never rotated).
func newStreamsRun(cfg config, srv *serverProcess, clients int) *streamsRun {
	return &streamsRun{
		cfg:      cfg,
		srv:      srv,
		numbers:  numbersBody(int(cfg.streamLength / (numbersInterval * time.Millisecond))),
		proxied:  numbersBody(proxiedCount),
		logLines: tailLinesAsked + int(cfg.streamLength/logInterval),
		logs:     &logIndex{path: srv.log.file},
		clients:  clients,
		stop:     make(chan struct{}),
		dials:    make(chan struct{}, cfg.dials),
		allOpen:  make(chan struct{}),
	}
}

// streamsTitle is the title of the streams scenario's table.
func streamsTitle(cfg config) string {
	title := fmt.Sprintf("streams: %d concurrent clients (%d stalled), %v hold, stall timeout %v",
		cfg.streams, cfg.stalled(), cfg.hold, cfg.stallTimeout)
	if cfg.reference {
		title += "; the reference server, then the demo"
	}
	return title
}

// stalled returns the number of stalled clients of the streams scenario.
func (cfg config) stalled() int { return cfg.streams * cfg.stalledPercent / 100 }

// streamsDemoFlags are the demo's flags in the streams scenario.
func streamsDemoFlags(cfg config) []string {
	return []string{
		"-users", strconv.Itoa(cfg.users),
		"-stall-timeout", cfg.stallTimeout.String(),
		"-log-interval", logInterval.String(),
		"-log-max-bytes", strconv.Itoa(logMaxBytes),
		"-max-streams", "0",
	}
}

// runStreams runs the streams scenario against the demo, or with
// -reference against the reference server first (see runStreamsBeside).
func runStreams(ctx context.Context, cfg config, bin, tmp string, stderr io.Writer) (*result, error) {
	if cfg.reference {
		return runStreamsBeside(ctx, cfg, bin, tmp, stderr)
	}
	res := &result{title: streamsTitle(cfg)}
	d, err := startDemo(ctx, bin, tmp, stderr, streamsDemoFlags(cfg)...)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	l, err := loadStreams(ctx, cfg, d, nil, res)
	if err != nil {
		return nil, err
	}
	checkDemoStreams(res, l)
	return res, nil
}

// streamsLoad is what one run of the streams scenario saw of one server:
// its clients' tallies, and the server's samples before, during and after
// the load.
type streamsLoad struct {
	*streamsRun
	base     sample   // the idle server before the load
	samples  []sample // every sampleEvery from the first client on
	smpErrs  int      // samples that failed
	start    time.Time
	rampEnd  time.Time // every client had its first response in (or the ramp timed out)
	rampDone bool      // every client did
	holdEnd  time.Time
	end      time.Time // every client had finished
	cpu      cpuSample // used from start to end
	after    int64     // the server's goroutines once the load was over
	waited   time.Duration
	final    samples // the server's /metrics once the load was over
}

// loadStreams runs the streams scenario's clients against srv: it
// downloads the export alone (its SHA-256 must be wantExport's, if not
// nil), samples the idle server, then runs cfg.streams clients for the
// ramp and cfg.hold, sampling the server, and waits for its goroutines to
// settle. It records in res the checks that the clients judge, which hold
// for any server (see checkClients).
func loadStreams(ctx context.Context, cfg config, srv *serverProcess, wantExport *[sha256.Size]byte, res *result) (*streamsLoad, error) {
	s := newStreamsRun(cfg, srv, cfg.streams)
	if err := s.prepare(ctx, res); err != nil {
		return nil, err
	}
	if wantExport != nil {
		res.check("export downloaded alone, identical to the demo's", s.export == *wantExport,
			fmt.Sprintf("SHA-256 %x…", s.export[:8]), fmt.Sprintf("%x…", wantExport[:8]))
	}
	l := &streamsLoad{streamsRun: s}
	var err error
	if l.base, err = baseline(ctx, srv); err != nil {
		return nil, err
	}
	cpu0, err := takeCPU(srv.pid())
	if err != nil {
		return nil, err
	}
	smp := startSampler(ctx, srv)
	l.start = time.Now()
	var clients sync.WaitGroup
	for i, j := 0, 0; i < cfg.streams; i++ {
		// The stalled clients spread evenly among the others, which take
		// numbers, export, proxy and logs in turn.
		kind := kindStalled
		if i*cfg.stalledPercent/100 == (i+1)*cfg.stalledPercent/100 {
			kind, j = streamKind(j%4), j+1
		}
		clients.Go(func() { s.client(ctx, nil, kind) })
	}
	// The hold starts once every client has its first stream open (or
	// failed to), and ends hold later; the clients then finish the
	// streams they have open.
	l.rampEnd = time.Now()
	select {
	case <-s.allOpen:
		l.rampEnd, l.rampDone = time.Now(), true
	case <-time.After(rampTimeout):
		l.rampEnd = time.Now()
	case <-ctx.Done():
	}
	l.holdEnd = l.rampEnd
	if l.rampDone {
		l.holdEnd = l.rampEnd.Add(cfg.hold)
		_ = sleepCtx(ctx, cfg.hold)
	}
	close(s.stop)
	clients.Wait()
	l.end = time.Now()
	l.samples, l.smpErrs = smp.stop(), smp.errs
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cpu1, err := takeCPU(srv.pid())
	if err != nil {
		return nil, err
	}
	l.cpu = cpu1.minus(cpu0)
	if l.after, l.waited, err = waitGoroutines(ctx, srv, l.base.goroutines+goroutineSlack, 30*time.Second); err != nil {
		return nil, err
	}
	if l.final, err = srv.scrape(ctx); err != nil {
		return nil, err
	}
	checkClients(res, l)
	return l, nil
}

// downloadExport downloads /export/users.csv from addr alone, and checks
// that it has a header and users rows.
func downloadExport(ctx context.Context, addr string, users int) ([]byte, error) {
	conn, resp, err := getFresh(ctx, nil, nil, addr, "/export/users.csv", time.Now().Add(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("export downloaded alone: %w", err)
	}
	defer conn.close()
	body, err := conn.readAll(resp, 1<<30)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("export downloaded alone: %s, %v", resp.Status, err)
	}
	if rows := bytes.Count(body, []byte("\n")); rows != users+1 {
		return nil, fmt.Errorf("export downloaded alone: %d lines, want a header and %d users", rows, users)
	}
	return body, nil
}

// prepare downloads, alone, what the clients will compare with: the
// export's checksum. It also opens each kind of stream once, so that what
// the server sets up on first use is in the baseline.
func (s *streamsRun) prepare(ctx context.Context, res *result) error {
	body, err := downloadExport(ctx, s.srv.addr, s.cfg.users)
	if err != nil {
		return err
	}
	s.export, s.exportLen = sha256.Sum256(body), len(body)
	res.figure("export: %d rows, %d bytes, SHA-256 %x… (downloaded alone before the load)", s.cfg.users, len(body), s.export[:8])
	var conn *httpConn
	defer func() {
		if conn != nil {
			conn.close()
		}
	}()
	for _, k := range []streamKind{kindNumbers, kindProxy, kindLogs} {
		var t tally
		if conn = s.stream(ctx, conn, nil, k, &t, func() {}); t.ok.Load() != 1 {
			return fmt.Errorf("first %s stream: %v", kindNames[k], t.messages())
		}
	}
	return nil
}

// client runs one client, connecting from the address from (see
// dialHTTP): streams of its kind, one after the other, each started at
// least cfg.period after the one before, until the hold ends.
func (s *streamsRun) client(ctx context.Context, from net.IP, kind streamKind) {
	var conn *httpConn
	defer func() {
		if conn != nil {
			conn.close()
		}
	}()
	first := true
	for next := time.Now(); ; {
		if !first {
			select {
			case <-s.stop:
				return
			default:
			}
			t := time.NewTimer(time.Until(next))
			select {
			case <-t.C:
			case <-s.stop:
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
		next = time.Now().Add(s.cfg.period)
		t := &s.tallies[kind]
		if !first {
			conn = s.stream(ctx, conn, from, kind, t, func() {})
			continue
		}
		// The first connections are set up a few at a time.
		first = false
		s.dials <- struct{}{}
		conn = s.stream(ctx, conn, from, kind, t, func() {
			<-s.dials
			if s.opened.Add(1) == int64(s.clients) {
				close(s.allOpen)
			}
		})
	}
}

// stream runs one stream of kind on conn (or a new connection from the
// address from), counting it in t, and returns the connection if it may be
// reused. It calls opened once the response's head is in, or the request
// failed. (A stalled stream connects from the system's choice of address.)
func (s *streamsRun) stream(ctx context.Context, conn *httpConn, from net.IP, kind streamKind, t *tally, opened func()) *httpConn {
	t.started.Add(1)
	deadline := time.Now().Add(s.cfg.streamLength + stallWait(s.cfg.stallTimeout) + time.Minute)
	if kind == kindStalled {
		if conn != nil {
			conn.close()
		}
		stalled(ctx, s.srv.addr, s.cfg.stallTimeout, deadline, t, &s.drained, opened)
		return nil
	}
	paths := [...]string{
		kindNumbers: fmt.Sprintf("/stream/numbers?count=%d&interval=%d", bytes.Count(s.numbers, []byte("\n")), numbersInterval),
		kindExport:  "/export/users.csv",
		kindProxy:   "/proxy/numbers",
		kindLogs:    "/stream/logs?lines=" + strconv.Itoa(tailLinesAsked),
	}
	conn, resp, err := getFresh(ctx, conn, from, s.srv.addr, paths[kind], deadline)
	opened()
	if err != nil {
		t.fail("%s: %v", paths[kind], err)
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests {
			t.turnedAway.Add(1)
		}
		body, _ := conn.readAll(resp, 4096)
		t.fail("%s: %s: %q", paths[kind], resp.Status, body)
		return conn
	}
	switch kind {
	case kindLogs:
		// An endless stream: read the lines asked for, then leave.
		defer conn.close()
		got, err := readLines(resp.Body, s.logLines)
		if err != nil {
			t.fail("%s: after %d bytes: %v", paths[kind], len(got), err)
			return nil
		}
		if err := s.logs.verify(got); err != nil {
			t.wrong("%s: %v", paths[kind], err)
			return nil
		}
		t.ok.Add(1)
		return nil
	case kindExport:
		body, err := conn.readAll(resp, int64(s.exportLen))
		switch {
		case err != nil:
			t.fail("%s: after %d bytes: %v", paths[kind], len(body), err)
		case sha256.Sum256(body) != s.export:
			t.wrong("%s: %d bytes with another SHA-256 than the reference's %d", paths[kind], len(body), s.exportLen)
		default:
			t.ok.Add(1)
		}
	default:
		want := s.numbers
		if kind == kindProxy {
			want = s.proxied
		}
		body, err := conn.readAll(resp, int64(len(want)))
		switch {
		case err != nil:
			t.fail("%s: after %d bytes: %v", paths[kind], len(body), err)
		case !bytes.Equal(body, want):
			t.wrong("%s: %d bytes, not the %d expected", paths[kind], len(body), len(want))
		default:
			t.ok.Add(1)
		}
	}
	if !conn.reuse {
		conn.close()
		return nil
	}
	return conn
}

// stalled runs a client that reads the headers of an endless stream from
// the server at addr and then nothing, with a small receive buffer, for
// longer than the stall timeout; then it reads what is left, which must
// end in a cut transfer soon: the server gave up on it. It counts the
// client in t, and the bytes it read at last in drained; it calls opened
// once the response's head is in, or the request failed.
func stalled(ctx context.Context, addr string, stall time.Duration, deadline time.Time, t *tally, drained *atomic.Int64, opened func()) {
	conn, err := dialHTTP(ctx, nil, addr, stalledReadBuffer)
	if err != nil {
		opened()
		t.fail("dial: %v", err)
		return
	}
	defer conn.close()
	resp, err := conn.get(endlessNumbers, deadline)
	opened()
	if err != nil {
		t.fail("%s: %v", endlessNumbers, err)
		return
	}
	if resp.StatusCode != http.StatusOK {
		t.fail("%s: %s", endlessNumbers, resp.Status)
		return
	}
	if err := sleepCtx(ctx, stallWait(stall)); err != nil {
		return
	}
	if err := drainCut(conn, resp, drained); err != nil {
		t.fail("%s: %v", endlessNumbers, err)
		return
	}
	t.ok.Add(1)
}

// drainCut reads what is left of a stalled client's response, quickly, and
// returns nil if it ends in a cut transfer, adding the bytes read to
// drained.
func drainCut(conn *httpConn, resp *http.Response, drained *atomic.Int64) error {
	if err := conn.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	drained.Add(n)
	switch {
	case cutTransfer(err):
		return nil
	case err == nil && n == drainLimit, timedOut(err):
		return fmt.Errorf("still streaming after the stall timeout (%d bytes read after the wait): not ended by the server", n)
	case err == nil:
		return fmt.Errorf("a clean end after %d bytes: a cut stream would look complete", n)
	default:
		return fmt.Errorf("after %d bytes: %v, not a cut transfer", n, err)
	}
}

// readLines reads n lines from r and returns them, each with its "\n".
func readLines(r io.Reader, n int) ([]byte, error) {
	br := bufio.NewReader(r)
	var got []byte
	for range n {
		line, err := br.ReadBytes('\n')
		got = append(got, line...)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// logIndex is the log file that the server's /stream/logs follows, as
// read so far, with the offset of each line, for checking that what a log
// stream delivered is a run of the file's bytes. It is safe for
// concurrent use.
type logIndex struct {
	path string

	mu      sync.Mutex
	content []byte         // the file's complete lines read so far
	offsets map[string]int // the offset in content of each line (with its "\n"); -1 for a line seen twice
}

// verify checks that got, whole lines, is a run of the log's bytes.
func (x *logIndex) verify(got []byte) error {
	first, _, ok := bytes.Cut(got, []byte("\n"))
	if !ok {
		return errors.New("no complete line")
	}
	key := string(first) + "\n"
	x.mu.Lock()
	defer x.mu.Unlock()
	off, found := x.offsets[key]
	if !found || off >= 0 && off+len(got) > len(x.content) {
		if err := x.refresh(); err != nil {
			return err
		}
		off, found = x.offsets[key]
	}
	switch {
	case !found:
		return fmt.Errorf("the first line received, %q, is not in the server's log", first)
	case off < 0:
		return fmt.Errorf("the first line received, %q, is in the server's log twice", first)
	case off+len(got) > len(x.content):
		return fmt.Errorf("%d bytes received from offset %d, past the log's end (%d)", len(got), off, len(x.content))
	case !bytes.Equal(x.content[off:off+len(got)], got):
		return fmt.Errorf("the %d bytes received differ from the log's at offset %d", len(got), off)
	}
	return nil
}

// refresh reads the lines appended to the log since the last refresh.
// x.mu must be held.
func (x *logIndex) refresh() error {
	f, err := os.Open(x.path)
	if err != nil {
		return err
	}
	defer f.Close()
	more, err := io.ReadAll(io.NewSectionReader(f, int64(len(x.content)), 1<<40))
	if err != nil {
		return err
	}
	if i := bytes.LastIndexByte(more, '\n'); i >= 0 {
		more = more[:i+1]
	} else {
		more = nil
	}
	if x.offsets == nil {
		x.offsets = make(map[string]int)
	}
	off := len(x.content)
	x.content = append(x.content, more...)
	for line := range bytes.Lines(more) {
		if _, dup := x.offsets[string(line)]; dup {
			x.offsets[string(line)] = -1
		} else {
			x.offsets[string(line)] = off
		}
		off += len(line)
	}
	return nil
}
