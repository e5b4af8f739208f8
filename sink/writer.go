package sink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
)

// ErrNoEncoder reports a [Writer] used without an Encoder, a mistake in
// the program: the request is answered 500.
var ErrNoEncoder = errors.New("sink: Writer has no Encoder")

// ErrHTTP10 reports a stream asked for over HTTP/1.0, which is refused with
// 505 HTTP Version Not Supported: a body of unknown length can only end
// there by the connection closing, so a stream cut short would look
// complete. (A reverse proxy in front must speak HTTP/1.1 to the server:
// nginx's proxy_http_version 1.1.)
var ErrHTTP10 = errors.New("sink: a stream needs HTTP/1.1 or later: over HTTP/1.0 a cut stream looks complete")

// Writer streams the items of producers to a gin response. Its fields
// configure it; the zero value of each is a documented default, and a
// Writer is safe for concurrent use by many requests once set up.
//
// The settings that every stream of an application shares are in the
// embedded [Config]; Encoder, Capacity and BatchBytes are this Writer's
// own, since they depend on its items.
type Writer[T any] struct {
	// Encoder frames items as bytes. It must not be nil.
	Encoder Encoder[T]

	// Capacity bounds the items buffered between the producers and the
	// response (see generator.Options) when a stream has several
	// producers. Zero means generator.DefaultCapacity, or
	// DefaultChunkCapacity for the [Bytes] encoder, whose items are
	// chunks. A lone producer's items are encoded as it yields them, into
	// one batch of BatchBytes, and [Writer.StreamInline] buffers nothing:
	// neither uses it.
	Capacity int

	// BatchBytes is the most the Writer encodes for one write and flush
	// when items are waiting; a batch that reaches it is written at once.
	// Zero means DefaultBatchBytes. [Writer.StreamInline] writes each
	// item on its own and does not use it.
	BatchBytes int

	// Config holds the settings every stream shares: admission limit,
	// stall and header timeouts, compression, report hook and logger.
	Config
}

// Stream streams producers to c with the given encoder and the defaults of
// a zero [Writer]; see [Writer.Stream].
func Stream[T any](c *gin.Context, enc Encoder[T], producers ...generator.Func[T]) Report {
	w := Writer[T]{Encoder: enc}
	return w.Stream(c, producers...)
}

// Stream runs the producers, as [generator.Start] does, and writes their
// items to the response until they end, the client leaves, or the client
// stalls. It returns when every producer has returned.
//
// A lone producer runs on the handler's goroutine, and yield encodes each
// item at once into the batch: the batch is written when it reaches
// BatchBytes, at once (and flushed) when the item follows a spell of half
// a millisecond without items, and otherwise flushed half a millisecond
// after its first item, so that the end of a burst reaches the client even
// though nothing tells the Writer that the producer is about to wait. A
// producer that never waits between items, generator.Count without an
// interval or generator.Slice given to Stream itself, tells the Writer
// so: its batches are written when full and at the end, with no timer and
// no lock per item (and, like any, its first item at once). yield
// blocks while a batch is being written and returns an error once the
// stream is over for the producer, as generator's does (the producer's
// context is cancelled then too); it is safe for concurrent use. A panic in
// the producer is recovered into a *generator.PanicError. Several
// producers run as generator.Start runs them, each on its own goroutine.
//
// A request over HTTP/1.0 is refused with 505 ([ErrHTTP10]). Headers are
// written with the first batch of items: Content-Type (from the
// encoder, unless set), Cache-Control: no-cache (unless set),
// X-Accel-Buffering: no and X-Content-Type-Options: nosniff. If the stream
// fails before that, the client gets an error status chosen by [StatusOf]
// and a one-line message instead (see [Writer.Fail]). If it fails after
// bytes were sent, the response is aborted (see the package documentation)
// so that the client sees a failed transfer, never a clean end — unless the
// encoder is an [Epilogue] that tells the client of the failure in the
// stream itself. A failure is logged and recorded with c.Error; every stream
// is reported (Config.OnReport) and its report returned.
func (w *Writer[T]) Stream(c *gin.Context, producers ...generator.Func[T]) Report {
	return w.serve(c, func(s *session[T]) {
		// The producers' context ends when the request's does, with a
		// cause that says the client is gone.
		req := c.Request.Context()
		ctx, cancel := context.WithCancelCause(context.WithoutCancel(req))
		defer cancel(nil)
		ctx, stopClock := w.lifetime(ctx)
		defer stopClock()
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
		s.budget = w.BatchBytes
		if s.budget <= 0 {
			s.budget = DefaultBatchBytes
		}
		if len(producers) == 1 {
			s.runBuffered(ctx, producers[0]) // which leaves its report in s.report
			return
		}
		s.group = generator.Start(ctx, generator.Options{Capacity: w.capacity()}, producers...)
		s.run()
	})
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
// first byte, the whole Config), with these differences: yield blocks for
// as long as the client takes to accept the item (the stall timeout bounds
// it), and returns an error matching [ErrClientGone] or [ErrStalled] once
// the stream cannot go on, which the producer should return; the
// producer's context, derived from the request's, is cancelled then; a
// panic in the producer is recovered into a *generator.PanicError;
// Capacity and BatchBytes are not used. yield is safe for concurrent use,
// so the producer may call it from goroutines (or timers) that it starts
// and joins before it returns.
func (w *Writer[T]) StreamInline(c *gin.Context, producer generator.Func[T]) Report {
	o, refused := w.open(c)
	if o == nil {
		return refused
	}
	defer o.s.releaseSlot() // if the report panics
	return o.Close(producer.Call(o.Context(), o.Yield))
}

// Open opens a stream that has no producer call: its items are written by
// [OpenStream.Yield], from any goroutine, until [OpenStream.Close] ends it.
// It is [Writer.StreamInline] without the producer's call, for a handler
// whose items are written by goroutines of others while it only waits for
// the stream to end (package sse's subscriptions to a MemHub: their events
// are written by a pool of writers, and the handler's goroutine, which
// never writes, keeps a small stack); StreamInline is Open, the producer
// called with the stream's Context and Yield, and Close with what it
// returned. Everything else is as in StreamInline.
//
// If the stream may not run (no Encoder, HTTP/1.0, no room in the Limit),
// Open answers the request, reports it and returns nil with the report.
// Otherwise the caller must call Close, once, on the handler's goroutine.
//
// Yield writes on the goroutine that calls it, the first write too (the
// headers, net/http's deepest call), where StreamInline makes that one on
// a goroutine of its own to keep the handler's stack small: yield from
// goroutines whose stacks may grow, not from the handler's.
func (w *Writer[T]) Open(c *gin.Context) (*OpenStream[T], Report) {
	o, refused := w.open(c)
	if o != nil {
		o.s.openStream = true
	}
	return o, refused
}

// open is Open, for StreamInline too.
func (w *Writer[T]) open(c *gin.Context) (*OpenStream[T], Report) {
	s, refused := w.admit(c)
	if s == nil {
		return nil, refused
	}
	s.startInline()
	return &OpenStream[T]{s: s}, Report{}
}

// OpenStream is a stream opened by [Writer.Open].
type OpenStream[T any] struct {
	s *session[T]
}

// Context returns the stream's context: derived from the request's, it is
// cancelled once the stream cannot go on (the client left or stalled, an
// item failed to encode, Config.MaxDuration passed since Open) or is
// closed. It is made when first asked for: a handler that needs only to
// know when the client leaves may watch the request's context instead,
// which costs the stream less memory.
func (o *OpenStream[T]) Context() context.Context {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	return o.s.streamContext()
}

// Yield writes item to the response at once, flushed, as the yield of
// [Writer.StreamInline] does: it blocks for as long as the client takes to
// accept it (the stall timeout bounds it) and returns an error matching
// [ErrClientGone] or [ErrStalled] once the stream cannot go on, or
// generator.ErrClosed once it is closed. It is safe for concurrent use.
func (o *OpenStream[T]) Yield(item T) error { return o.s.yieldInline(item) }

// Close ends the stream as a producer that returned err ends
// StreamInline's (nil: the stream completed), waiting for a Yield under
// way; reports it and returns the report. Like the end of any stream, it
// panics with http.ErrAbortHandler when the response can only be aborted
// so (see the package documentation), after reporting it.
func (o *OpenStream[T]) Close(err error) Report {
	o.s.endInline(err)
	return o.s.end()
}

// Fail answers the request as a stream that failed with err before its
// first byte: the status [StatusOf] chooses, a one-line text body — the
// error's message for a client error (4xx), only the status and the
// request's id for a server error (5xx), whose detail stays in the log —
// and none of the headers meant for a successful body (Content-Disposition,
// Content-Encoding, Content-Length, ETag, Last-Modified). The failure is
// logged, recorded with c.Error and reported as a stream's would be. It is
// for handlers that find a problem before they can stream, such as a proxy
// whose upstream is unreachable. If the client has left meanwhile (the
// request's context is done), nothing is answered and the report's outcome
// is [ClientGone], as for a stream.
func (w *Writer[T]) Fail(c *gin.Context, err error) Report {
	start := time.Now()
	if req := c.Request.Context(); req.Err() != nil {
		if !errors.Is(err, ErrClientGone) {
			err = fmt.Errorf("%w: %w", ErrClientGone, err)
		}
		return w.finish(c, Report{Outcome: ClientGone, Err: err, Status: c.Writer.Status()}, start)
	}
	code := answerError(c, err)
	return w.finish(c, Report{Outcome: Failed, Err: err, Status: code}, start)
}

// serve runs Stream's streams: it admits the stream past the Limit, runs
// it on a new session, reports it and, as the last resort of abort,
// panics with http.ErrAbortHandler once it is reported. (StreamInline and
// Open admit with open, and end with OpenStream.Close.)
//
// Its frame stays on the stack for as long as the stream runs, below every
// write and every wait for an item: admission and the end are in
// functions of their own, so that it holds little more than the session.
func (w *Writer[T]) serve(c *gin.Context, run func(*session[T])) Report {
	s, refused := w.admit(c)
	if s == nil {
		return refused
	}
	defer s.releaseSlot() // if run panics
	run(s)
	return s.end()
}

// admit returns a session for the stream or, if it may not run (no
// Encoder, HTTP/1.0, no room in the Limit), answers and reports it.
func (w *Writer[T]) admit(c *gin.Context) (*session[T], Report) {
	start := time.Now()
	switch {
	case w.Encoder == nil:
		return nil, w.Fail(c, ErrNoEncoder)
	case c.Request.ProtoMajor == 1 && c.Request.ProtoMinor == 0:
		dropBodyHeaders(c.Writer.Header())
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusHTTPVersionNotSupported, "text/plain; charset=utf-8",
			[]byte("505 HTTP Version Not Supported: this stream needs HTTP/1.1 or later, where a cut stream cannot pass for a complete one\n"))
		return nil, w.finish(c, Report{Outcome: Rejected, Status: http.StatusHTTPVersionNotSupported, Err: ErrHTTP10}, start)
	}
	s := &session[T]{
		w:     w,
		enc:   w.Encoder,
		c:     c,
		rc:    *http.NewResponseController(unwrap(c.Writer)),
		req:   c.Request.Context(),
		http1: c.Request.ProtoMajor == 1,
		stall: w.stallTimeout(),
		start: start,
	}
	if w.Limit != nil {
		a, err := w.Limit.admit(c)
		if err != nil {
			return nil, w.finish(c, w.Limit.reject(c, err), start)
		}
		s.slot = a
	}
	return s, Report{}
}

// releaseSlot gives back the stream's place in the Limit, once.
func (s *session[T]) releaseSlot() {
	if s.slot.l != nil {
		s.slot.release()
		s.slot = admission{}
	}
}

// end returns what the session borrowed and its place in the Limit,
// reports the stream and, if the response can only be aborted by a panic,
// panics with http.ErrAbortHandler.
func (s *session[T]) end() Report {
	s.release()
	s.releaseSlot() // before the report: a client told the stream ended may start the next
	r := s.w.finish(s.c, s.report, s.start)
	if s.mustPanic {
		panic(http.ErrAbortHandler)
	}
	return r
}

// lifetime returns ctx ended, with cause ErrMaxDuration, after
// Config.MaxDuration, if it is set.
func (cfg *Config) lifetime(ctx context.Context) (context.Context, context.CancelFunc) {
	if cfg.MaxDuration <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, cfg.MaxDuration, ErrMaxDuration)
}

// capacity returns the Capacity in force; zero means generator's default.
func (w *Writer[T]) capacity() int {
	if w.Capacity == 0 {
		if _, ok := w.Encoder.(chunked); ok {
			return DefaultChunkCapacity
		}
	}
	return w.Capacity
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
