package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
)

// Defaults for the zero values of [Writer]'s fields.
const (
	// DefaultBatchBytes is the byte budget of one write and flush.
	DefaultBatchBytes = 32 << 10
	// DefaultStallTimeout is how long one batch may take to reach a client.
	DefaultStallTimeout = 30 * time.Second
)

// Errors with which a Writer cancels its producers; yield returns errors
// matching them.
var (
	// ErrClientGone reports that the client disconnected.
	ErrClientGone = errors.New("sink: client gone")
	// ErrStalled reports that the client accepted nothing for the stall
	// timeout.
	ErrStalled = errors.New("sink: client stalled")
)

// Writer streams the items of producers to a gin response. Its fields
// configure it; the zero value of each is a documented default, and a
// Writer is safe for concurrent use by many requests once set up.
type Writer[T any] struct {
	// Encoder frames items as bytes. It must not be nil.
	Encoder Encoder[T]

	// Capacity bounds the items buffered between the producers and the
	// response (see generator.Options). Zero means
	// generator.DefaultCapacity.
	Capacity int

	// BatchBytes is the most the Writer encodes for one write and flush
	// when items are waiting; a batch that reaches it is written at once.
	// Zero means DefaultBatchBytes.
	BatchBytes int

	// StallTimeout ends a stream whose client has not accepted a batch
	// within this time (at least 3/4 of it, in a stream that never waits
	// for items), through the connection's write deadline; without it a
	// client that stops reading would hold the stream forever. Zero means
	// DefaultStallTimeout; a negative value turns it off.
	StallTimeout time.Duration

	// HeaderTimeout, if positive, sends the response headers once the
	// first item has taken this long, without waiting further for it, so
	// that a client learns early that the stream is open (a log that is
	// quiet, an upstream that is slow to send its body). A failure after
	// that is reported to the client as a failed transfer, no longer as an
	// error status. Zero means the headers wait for the first item.
	HeaderTimeout time.Duration

	// Compress, if true, compresses the body with gzip or zstd when the
	// request's Accept-Encoding allows it (gzip if both are equally
	// welcome, since it is the faster of the two), flushing the
	// compressor with every batch so that a compressed stream still
	// streams. It adds "Vary: Accept-Encoding", and leaves a body alone
	// whose Content-Encoding the handler has set. Leave it off for content
	// that is compressed already (images, archives, video).
	Compress bool

	// Limit, if not nil, is consulted before the producers start: when it
	// is full the request is answered 503 with Retry-After.
	Limit *Limit

	// OnReport, if not nil, is called with the report of every stream, on
	// the handler's goroutine, after the stream has ended (for metrics).
	OnReport func(*gin.Context, Report)

	// Logger logs every stream that does not complete. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Stream runs the producers, as [generator.Start] does, and writes their
// items to the response until they end, the client leaves, or the client
// stalls. It returns when every producer has returned.
//
// Headers are written with the first batch of items: Content-Type (from the
// encoder, unless set), Cache-Control: no-cache (unless set),
// X-Accel-Buffering: no and X-Content-Type-Options: nosniff. If the stream
// fails before that, the client gets an error status chosen by [StatusOf]
// and a one-line message instead. If it fails after bytes were sent, the
// response is aborted (see the package documentation) so that the client
// sees a failed transfer, never a clean end. Either way the error is logged,
// recorded with c.Error, and returned in the report.
func (w *Writer[T]) Stream(c *gin.Context, producers ...generator.Func[T]) Report {
	return w.serve(c, func(s *session[T]) Report {
		// The producers' context ends when the request's does, with a
		// cause that says the client is gone.
		req := c.Request.Context()
		ctx, cancel := context.WithCancelCause(context.WithoutCancel(req))
		defer cancel(nil)
		watchDone := make(chan struct{})
		stopWatch := context.AfterFunc(req, func() {
			defer close(watchDone)
			cancel(fmt.Errorf("%w: %w", ErrClientGone, context.Cause(req)))
		})
		defer func() {
			if !stopWatch() {
				<-watchDone // join the watcher's goroutine
			}
		}()
		s.cancel = cancel
		s.stream = generator.Start(ctx, generator.Options{Capacity: w.Capacity}, producers...)
		s.budget = w.BatchBytes
		if s.budget <= 0 {
			s.budget = DefaultBatchBytes
		}
		return s.run()
	})
}

// serve is what Stream and StreamInline share: it admits the stream past
// the Limit, runs it on a new session, reports it and, as the last resort
// of abort, panics with http.ErrAbortHandler once it is reported.
func (w *Writer[T]) serve(c *gin.Context, run func(*session[T]) Report) Report {
	start := time.Now()
	if w.Limit != nil {
		if !w.Limit.tryAcquire() {
			return w.finish(c, w.reject(c), start)
		}
		defer w.Limit.release()
	}
	s := &session[T]{
		w:     w,
		c:     c,
		rc:    http.NewResponseController(unwrap(c.Writer)),
		stall: w.StallTimeout,
	}
	if s.stall == 0 {
		s.stall = DefaultStallTimeout
	}
	report := run(s)
	s.release()
	r := w.finish(c, report, start)
	if s.mustPanic {
		panic(http.ErrAbortHandler)
	}
	return r
}

// StreamInline runs one producer on the handler's goroutine and writes
// each item it yields to the response at once, flushed, before yield
// returns: no goroutine, buffer or batching stands between them. It suits
// a producer that is idle most of the time and yields an item now and then,
// such as a subscription to events, where it makes each open stream cost
// little more than the connection; for bulk data use [Writer.Stream], whose
// batches are many times faster.
//
// It behaves as Stream does otherwise (headers, errors before and after the
// first byte, stall timeout, compression, Limit, report), with these
// differences: yield blocks for as long as the client takes to accept the
// item (the stall timeout bounds it), and returns an error matching
// [ErrClientGone] or [ErrStalled] once the stream cannot go on, which the
// producer should return; the producer's context, derived from the
// request's, is cancelled then; a panic
// in the producer is recovered into a *generator.PanicError; Capacity,
// BatchBytes and HeaderTimeout are not used. yield is safe for concurrent
// use, so the producer may call it from goroutines (or timers) that it
// starts and joins before it returns.
func (w *Writer[T]) StreamInline(c *gin.Context, producer generator.Func[T]) Report {
	return w.serve(c, func(s *session[T]) Report { return s.runInline(producer) })
}

// runInline runs the producer of StreamInline and returns the report.
func (s *session[T]) runInline(producer generator.Func[T]) Report {
	var mu sync.Mutex // serializes yields
	yield := func(item T) error {
		mu.Lock()
		defer mu.Unlock()
		return s.writeItem(item)
	}
	ctx, cancel := context.WithCancelCause(s.c.Request.Context())
	defer cancel(nil)
	s.cancel = cancel
	err := runProducer(ctx, producer, yield)
	mu.Lock() // a yield from a goroutine the producer failed to join ends now
	defer mu.Unlock()
	s.yieldDone = true
	switch {
	case s.err != nil:
		err = s.err // the stream failed in yield; the producer's error follows from it
	case err == nil:
		err = io.EOF
		if !s.opened {
			err = s.open()
		}
		if err == nil && len(s.buf) > 0 {
			// An encoder's preamble, in a stream of no items.
			s.writeInline()
			err = s.err
		}
		if err == nil {
			err = io.EOF
			s.c.Writer.WriteHeaderNow()
			s.c.Writer.Flush()
		}
	}
	s.stop(err)
	return s.report
}

// writeItem encodes one item of StreamInline and writes and flushes it,
// opening the response first if it is the first.
func (s *session[T]) writeItem(item T) error {
	switch {
	case s.err != nil:
		return s.err
	case s.yieldDone:
		return generator.ErrClosed
	}
	if req := s.c.Request.Context(); req.Err() != nil {
		s.outcome, s.err = ClientGone, fmt.Errorf("%w: %w", ErrClientGone, context.Cause(req))
		return s.err
	}
	if !s.opened {
		if err := s.open(); err != nil {
			s.err = err
			return err
		}
	}
	var err error
	if s.buf, err = s.w.Encoder.Append(s.buf, item); err != nil {
		s.buf = s.buf[:0]
		s.err = err
		s.cancel(err)
		return err
	}
	s.report.Items++
	s.writeInline()
	return s.err
}

// writeInline writes buf under the stall deadline; the producer may then
// wait for its next item for longer than the stall timeout (see idle).
func (s *session[T]) writeInline() {
	if s.write(s.c.Writer) {
		s.idle()
	} else {
		s.cancel(s.err)
	}
}

// idle readies the connection for a wait of any length for the next item.
// Over HTTP/2 (and later versions) the write deadline is a timer that
// resets the stream when it fires, even with no write under way, so it is
// cleared. Over HTTP/1.1 it only fails writes, and write moves it before
// every write that it would fail, so it stays: that saves the two changes
// of it per write that make up much of the cost of a stream of small,
// spaced items.
func (s *session[T]) idle() {
	if !s.deadlineAt.IsZero() && s.c.Request.ProtoMajor != 1 {
		s.setDeadline(time.Time{})
	}
}

// runProducer runs p, turning a panic into a *generator.PanicError as the
// generator does for the producers it starts.
func runProducer[T any](ctx context.Context, p generator.Func[T], yield func(T) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &generator.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return p(ctx, yield)
}

// unwrap returns the http.ResponseWriter under gin's, so that the response
// controller reaches it: gin's writer has Flush but not FlushError, and
// would hide flush errors.
func unwrap(w gin.ResponseWriter) http.ResponseWriter {
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		return u.Unwrap()
	}
	return w
}

// Stream streams producers to c with the given encoder and the defaults of
// a zero [Writer]; see [Writer.Stream].
func Stream[T any](c *gin.Context, enc Encoder[T], producers ...generator.Func[T]) Report {
	w := Writer[T]{Encoder: enc}
	return w.Stream(c, producers...)
}

// reject answers 503 for a stream the Limit turned away.
func (w *Writer[T]) reject(c *gin.Context) Report {
	c.Header("Retry-After", strconv.FormatInt(w.Limit.retryAfterSeconds(), 10))
	c.Data(http.StatusServiceUnavailable, "text/plain; charset=utf-8",
		[]byte("ginstream: too many streams at once; retry later\n"))
	return Report{Outcome: Rejected, Status: http.StatusServiceUnavailable, Err: ErrRejected}
}

// finish completes the report, logs it and hands it to the hook.
func (w *Writer[T]) finish(c *gin.Context, r Report, start time.Time) Report {
	r.Duration = time.Since(start)
	if r.Err != nil {
		_ = c.Error(r.Err)
		w.log(c, r)
	}
	if w.OnReport != nil {
		w.OnReport(c, r)
	}
	return r
}

// log records a stream that did not complete, at a level that matches how
// much an operator should care.
func (w *Writer[T]) log(c *gin.Context, r Report) {
	logger := w.Logger
	if logger == nil {
		logger = slog.Default()
	}
	level := slog.LevelError
	switch r.Outcome {
	case ClientGone:
		level = slog.LevelInfo
	case Stalled, Rejected:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.String("outcome", r.Outcome.String()),
		slog.Int("status", r.Status),
		slog.Int64("items", r.Items),
		slog.Int64("bytes", r.Bytes),
		slog.Duration("duration", r.Duration),
		slog.String("error", r.Err.Error()),
	}
	var pe *generator.PanicError
	if errors.As(r.Err, &pe) {
		attrs = append(attrs, slog.String("stack", string(pe.Stack)))
	}
	logger.LogAttrs(c.Request.Context(), level, "ginstream: stream ended early", attrs...)
}

// session is the state of one stream.
type session[T any] struct {
	w      *Writer[T]
	c      *gin.Context
	rc     *http.ResponseController // for the writer under gin's
	cancel context.CancelCauseFunc
	stream *generator.Stream[T]
	stall  time.Duration
	budget int

	batch      []T // the items received last
	next       int // index in batch of the first item not yet encoded
	buf        []byte
	deadlineAt time.Time       // the write deadline set; zero if none
	comp       compressor      // compresses the body; nil if it is sent as is
	counter    *countingWriter // counts compressed bytes written
	mustPanic  bool            // the response can only be aborted by a panic
	opened     bool            // headers set, compression and preamble begun
	yieldDone  bool            // StreamInline's producer has returned
	report     Report
	err        error   // why the loop stopped; io.EOF when the producers finished
	outcome    Outcome // how the loop stopped
}

// run streams until the end and returns the report.
func (s *session[T]) run() Report {
	var err error
	if s.w.HeaderTimeout > 0 {
		t := time.NewTimer(s.w.HeaderTimeout)
		s.batch, err = s.stream.NextUntil(nil, t.C)
		t.Stop()
	} else {
		s.batch, err = s.stream.Next(nil)
	}
	if err != nil && err != io.EOF {
		// Failed before the first byte: answer with an error status.
		s.stop(err)
		return s.report
	}
	if perr := s.open(); perr != nil {
		s.stop(perr)
		return s.report
	}
	if len(s.batch) > 0 {
		// Encode the first items before the loop, so that an item the
		// encoder refuses is still answered with an error status: gin's
		// Context.Stream flushes after every step, headers included.
		s.encode()
		if s.err != nil {
			s.buf = s.buf[:0] // the preamble, if any: nothing was sent
			s.stop(s.err)
			return s.report
		}
	}
	if len(s.batch) == 0 && len(s.buf) == 0 {
		// An empty stream, or a first item that is late: send the
		// headers now.
		s.c.Writer.WriteHeaderNow()
		s.c.Writer.Flush()
	}
	s.err = err
	if s.err == nil || len(s.buf) > 0 {
		s.loop()
	}
	s.stop(s.err)
	return s.report
}

// open prepares the response for the first bytes: headers, compression,
// and the encoder's preamble, if it has one, into buf.
func (s *session[T]) open() error {
	s.opened = true
	s.setHeaders()
	if s.w.Compress {
		if coding := setCompression(s.c.Writer.Header(), s.c.Request); coding != "" {
			s.counter = &countingWriter{w: s.c.Writer}
			s.comp = newCompressor(coding, s.counter)
		}
	}
	if pre, ok := s.w.Encoder.(Preamble); ok {
		var err error
		if s.buf, err = pre.AppendPreamble(s.buf); err != nil {
			return err
		}
	}
	return nil
}

// release returns what the session borrowed from pools.
func (s *session[T]) release() {
	if s.comp != nil {
		s.comp.release()
	}
}

// setHeaders sets the headers of a streamed response.
func (s *session[T]) setHeaders() {
	h := s.c.Writer.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", s.w.Encoder.ContentType())
	}
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
}

// loop drives step through gin's Context.Stream, or through an equivalent
// loop where the response writer cannot report a closed connection (gin's
// Stream would panic there).
func (s *session[T]) loop() {
	if !canCloseNotify(s.c.Writer) {
		for s.step(s.c.Writer) {
			s.c.Writer.Flush()
		}
		return
	}
	if clientGone := s.c.Stream(s.step); clientGone && s.err == nil {
		// gin saw the connection close between two steps.
		s.outcome, s.err = ClientGone, ErrClientGone
	}
}

// canCloseNotify reports whether w's CloseNotify works; gin's panics when
// the underlying writer lacks it (httptest.ResponseRecorder, HTTP/3).
func canCloseNotify(w gin.ResponseWriter) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	w.CloseNotify()
	return true
}

// step waits for items, encodes as many as are waiting up to the byte
// budget, writes them and flushes. It returns false when the stream is over.
func (s *session[T]) step(out io.Writer) bool {
	if s.next == len(s.batch) && len(s.buf) == 0 {
		if s.batch, s.next = s.stream.TryNext(s.batch), 0; len(s.batch) == 0 {
			s.idle()
			var err error
			if s.batch, err = s.stream.Next(s.batch); err != nil {
				s.err = err
				return false
			}
		}
	}
	for len(s.buf) < s.budget && s.err == nil {
		if s.next == len(s.batch) {
			// Take what arrived meanwhile, without waiting.
			if s.batch, s.next = s.stream.TryNext(s.batch), 0; len(s.batch) == 0 {
				break
			}
		}
		s.encode()
	}
	if len(s.buf) > 0 && !s.write(out) {
		return false
	}
	return s.err == nil
}

// encode encodes received items into buf until the budget is reached.
func (s *session[T]) encode() {
	enc, first := s.w.Encoder, s.next
	for s.next < len(s.batch) && len(s.buf) < s.budget {
		var err error
		if s.buf, err = enc.Append(s.buf, s.batch[s.next]); err != nil {
			s.err = err
			break
		}
		s.next++
	}
	s.report.Items += int64(s.next - first)
}

// write writes and flushes buf under the stall deadline. While batches
// follow each other without a wait, the deadline is moved only when less
// than 3/4 of the stall timeout is left, since setting it costs a round
// trip to the connection's goroutine on HTTP/2.
func (s *session[T]) write(out io.Writer) bool {
	if s.stall > 0 {
		now := time.Now()
		if s.deadlineAt.IsZero() || s.deadlineAt.Sub(now) < s.stall*3/4 {
			s.setDeadline(now.Add(s.stall))
		}
	}
	var n int
	var err error
	if s.comp != nil {
		before := s.counter.n
		if _, err = s.comp.Write(s.buf); err == nil {
			err = s.comp.Flush() // the batch leaves the compressor now
		}
		n = int(s.counter.n - before)
	} else {
		n, err = out.Write(s.buf)
	}
	s.report.Bytes += int64(n)
	s.buf = s.buf[:0]
	if err == nil {
		s.c.Writer.Flush() // through any middleware's writer, which may buffer
		err = s.rc.Flush() // reports what gin's Flush does not
		s.report.Flushes++
	}
	if err != nil {
		s.writeFailed(err)
		return false
	}
	return true
}

// writeFailed records why a write failed: a stall if it ran into the
// deadline, otherwise a client that went away.
func (s *session[T]) writeFailed(err error) {
	if !s.deadlineAt.IsZero() && !time.Now().Before(s.deadlineAt) {
		s.outcome, s.err = Stalled, fmt.Errorf("%w: %w", ErrStalled, err)
	} else {
		s.outcome, s.err = ClientGone, fmt.Errorf("%w: %w", ErrClientGone, err)
	}
}

// setDeadline sets the response's write deadline; t zero clears it.
func (s *session[T]) setDeadline(t time.Time) {
	s.deadlineAt = t
	if err := s.rc.SetWriteDeadline(t); errors.Is(err, http.ErrNotSupported) {
		s.stall = -1 // this writer cannot stall-protect; carry on without
		s.deadlineAt = time.Time{}
	}
}

// stop cancels and joins the producers, settles the outcome of a stream
// that ended with err (io.EOF meaning success) and answers or aborts the
// response accordingly.
func (s *session[T]) stop(err error) {
	if err == nil {
		err = io.EOF
	}
	if s.outcome == Completed {
		switch {
		case err == io.EOF:
		case s.c.Request.Context().Err() != nil:
			s.outcome = ClientGone
			if !errors.Is(err, ErrClientGone) {
				err = fmt.Errorf("%w: %w", ErrClientGone, err)
			}
		default:
			s.outcome = Failed
		}
	}
	cause := err
	if cause == io.EOF {
		cause = generator.ErrClosed
	}
	s.cancel(cause)
	if s.stream != nil {
		if cerr := s.stream.Close(); err == io.EOF && cerr != nil {
			// A producer failed after the last item was taken.
			s.outcome, err = Failed, cerr
		}
	}
	if err == io.EOF && s.comp != nil && !s.finishCompression() {
		err = s.err
	}
	if !s.deadlineAt.IsZero() {
		s.setDeadline(time.Time{})
	}
	s.report.Outcome = s.outcome
	s.report.Status = s.c.Writer.Status()
	if err == io.EOF {
		return
	}
	s.report.Err = err
	switch {
	case s.outcome != Failed:
		// The connection is gone or stuck; nothing more can be said.
		s.abort()
	case !s.c.Writer.Written():
		s.report.Status = s.fail(err)
	default:
		s.abort()
	}
}

// finishCompression writes the compressed stream's trailer, under the
// stall deadline, and reports whether the client accepted it.
func (s *session[T]) finishCompression() bool {
	if s.stall > 0 {
		s.setDeadline(time.Now().Add(s.stall))
	}
	before := s.counter.n
	err := s.comp.Close()
	s.report.Bytes += s.counter.n - before
	if err == nil {
		s.c.Writer.Flush()
		err = s.rc.Flush()
	}
	if err != nil {
		s.writeFailed(err)
		return false
	}
	return true
}

// fail answers a stream that failed before its first byte.
func (s *session[T]) fail(err error) int {
	code := StatusOf(err)
	h := s.c.Writer.Header()
	for _, k := range []string{"Content-Type", "Content-Disposition", "Content-Length", "Content-Encoding", "Etag", "Last-Modified"} {
		h.Del(k)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	s.c.Data(code, "text/plain; charset=utf-8", []byte(errorMessage(code, err)))
	return code
}

// errorMessage is the body of an error response: the status and one line
// saying what went wrong.
func errorMessage(code int, err error) string {
	msg := []byte(err.Error())
	for i, b := range msg {
		if b < ' ' || b == 0x7f {
			msg[i] = ' ' // keep it one line
		}
	}
	return strconv.Itoa(code) + " " + http.StatusText(code) + ": " + string(msg) + "\n"
}

// abort makes the client see a failed transfer after bytes were sent: a
// write deadline in the past makes HTTP/2 reset the stream and HTTP/1.1 lose
// the chunked body's terminator and close the connection. This works
// whatever middleware wraps the handler, unlike panic(http.ErrAbortHandler),
// which gin's Recovery swallows. Writers without deadlines are hijacked and
// closed, and as a last resort Stream panics with http.ErrAbortHandler once
// the stream is reported.
func (s *session[T]) abort() {
	s.deadlineAt = time.Time{}
	err := s.rc.SetWriteDeadline(time.Unix(1, 0))
	if !errors.Is(err, http.ErrNotSupported) {
		return // aborted, or the connection is closed already
	}
	if conn, _, err := s.rc.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	s.mustPanic = true
}
