package sink

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/internal/nowait"
)

// flushDelay is the longest an encoded item waits in the batch buffer of a
// lone producer's stream before it is written and flushed, and the quiet
// spell after which the next item is written at once.
const flushDelay = 500 * time.Microsecond

// ownedHook, set by tests, is called as every producer of runBuffered
// returns, with whether it owned the stream.
var ownedHook func(owned bool)

// buffered is the state of a stream of Writer.Stream with one producer,
// which runs on the handler's goroutine: yield encodes each item into the
// session's buffer, with no goroutine or hand-off between the producer and
// the response. The buffer is written
//
//   - when it reaches the byte budget, without a flush, since more items
//     follow at once;
//   - at once, flushed, when the item follows a quiet spell (the producer
//     yielded nothing for flushDelay), so that a paced item is not held
//     back;
//   - otherwise by the flush timer, flushed, flushDelay after its first
//     byte: the end of a burst reaches the client within flushDelay.
//
// The producer does not say when it is about to wait; the timer stands in
// for that — unless it is one of the library's producers that never waits
// between items (nowait.Claim), which then owns the stream: its items are
// encoded without the lock, and the timer is never armed.
type buffered[T any] struct {
	s   *session[T]
	mu  sync.Mutex      // serializes yields, the flush timer and the header timer
	ctx context.Context // the stream's; the producer's ends after it
	// ended is set when ctx has ended, before the producer's context
	// does: the fast path of yield reads it instead of ctx.Err.
	ended atomic.Bool

	append func([]byte, T) ([]byte, error) // the encoder's Append, resolved once
	// fast is set while an item needs nothing but encoding: the stream
	// is open and not over, the producer is not quiet, and the buffer
	// holds the first items of a batch, for which the timer is armed.
	fast bool
	// owned is set when the producer claimed, before its first item,
	// that it never waits between items and yields from its own
	// goroutine only (nowait.Claim): its items then need neither the
	// flush timer, which is never armed, nor the lock, but to write.
	owned bool

	timer     *time.Timer   // runs tick; nil until first armed
	armed     bool          // the timer is set and tick has not begun
	ticked    chan struct{} // receives from a tick that finds the producer returned
	firstAt   time.Time     // when the oldest byte of s.buf was encoded
	seen      int64         // report.Items at the last tick: more were yielded since if it differs
	quiet     bool          // nothing was yielded for flushDelay: write the next item at once
	unflushed bool          // a batch was written and not flushed
	refused   error         // the producers' context ended: yield refuses items with this
}

// runBuffered runs the lone producer of Writer.Stream on the handler's
// goroutine, with a context that ends when ctx does (producerContext), and
// returns the report.
func (s *session[T]) runBuffered(ctx context.Context, producer generator.Func[T]) Report {
	b := &buffered[T]{s: s, ctx: ctx, quiet: true, ticked: make(chan struct{}), append: appendFunc(s.w.Encoder)}
	pctx, joinWatch := b.producerContext()
	defer joinWatch()
	pctx = nowait.Offer(pctx, producer, b.own)
	stopHeaders := s.headerTimer(&b.mu)
	// yield encodes item into the buffer and writes the buffer as the
	// type's documentation says. Its fast path, taken by every item but
	// those that begin or fill a batch, only encodes. It is written here,
	// a closure rather than a method value, so that the producer calls
	// it with no wrapper in between (and sync.Mutex's methods inline).
	yield := func(item T) error {
		if b.owned && b.fast && !b.ended.Load() {
			// The producer claimed the stream (own): nothing but
			// this goroutine touches the buffer until the next write.
			buf, err := b.append(s.buf, item)
			if err != nil || len(buf) >= s.budget {
				return b.ownedWrite(buf, err)
			}
			s.buf = buf
			s.report.Items++
			return nil
		}
		b.mu.Lock()
		if !b.fast || b.ended.Load() {
			err := b.yieldSlow(item)
			b.mu.Unlock()
			return err
		}
		buf, err := b.append(s.buf, item)
		if err != nil {
			err = b.encodeFailed(err)
			b.mu.Unlock()
			return err
		}
		s.buf = buf
		s.report.Items++
		if len(buf) >= s.budget {
			err = b.writeFull()
		}
		b.mu.Unlock()
		return err
	}
	err := producer.Call(pctx, yield)
	if ownedHook != nil {
		ownedHook(b.owned)
	}
	stopHeaders()
	b.mu.Lock()
	s.yieldDone = true
	b.fast = false
	if b.armed && !b.timer.Stop() {
		// tick has begun and waits for the lock: let it see the end.
		b.mu.Unlock()
		<-b.ticked
		b.mu.Lock()
	}
	defer b.mu.Unlock()
	switch {
	case s.err != nil:
		// The stream failed in yield: the connection, or the encoder,
		// whose error follows the items before it.
		err = s.err
		if !s.connFailed {
			b.finish(true)
		}
	case err == nil:
		if !s.opened {
			err = s.open()
		}
		if err == nil {
			b.finish(false)
			if !s.c.Writer.Written() {
				s.sendHeaders(s.c.Writer) // and a preamble, in a stream of no items
			}
			err = s.err
		}
	default:
		b.finish(true) // the items before the producer's failure
	}
	s.stop(err)
	return s.report
}

// own is the accept of the stream's nowait.Offer: it lets the producer
// own the stream, unless the producer claims it too late, after its first
// item. It runs on the producer's goroutine.
func (b *buffered[T]) own() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s.report.Items == 0 { // no item has armed the timer yet
		b.owned = true
	}
}

// producerContext returns the producer's context: it has the values and
// deadline of the stream's, and ends with the same cause, but only once
// ended is set, so that a producer that has seen its context end finds
// yield refusing items, although the fast path of yield reads nothing but
// ended. The session's cancel ends both at once; when the stream's context
// ends otherwise (the client left, MaxDuration) a goroutine of
// context.AfterFunc ends the producer's. join waits for that goroutine,
// once the stream's context has ended, as it has at the end of every
// stream.
func (b *buffered[T]) producerContext() (ctx context.Context, join func()) {
	ctx, cancel := context.WithCancelCause(keepDeadline{context.WithoutCancel(b.ctx), b.ctx})
	end := func() {
		b.ended.Store(true)
		cancel(context.Cause(b.ctx))
	}
	cancelStream := b.s.cancel
	b.s.cancel = func(cause error) {
		cancelStream(cause)
		end()
	}
	done := make(chan struct{})
	stop := context.AfterFunc(b.ctx, func() {
		defer close(done)
		end()
	})
	return ctx, func() {
		if !stop() {
			<-done
		}
		cancel(generator.ErrClosed)
	}
}

// keepDeadline is a context that is never cancelled, with the values of
// its Context and the deadline of parent.
type keepDeadline struct {
	context.Context
	parent context.Context
}

// Deadline returns the parent's deadline.
func (c keepDeadline) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// finish writes and flushes what the buffer holds at the end of the
// stream. A stream that failed before its response began can still be
// answered with an error status: what the buffer holds then (an encoder's
// preamble) is dropped. b.mu must be held.
func (b *buffered[T]) finish(failed bool) {
	s := b.s
	switch {
	case failed && !s.c.Writer.Written():
		s.buf = s.buf[:0]
	case len(s.buf) > 0:
		s.write(s.c.Writer)
	case b.unflushed:
		b.flush()
	}
	b.unflushed = false
}

// yieldSlow is the yield of runBuffered for an item that does more than extend a batch: the
// first of the stream or of a batch, one after a quiet spell, or one
// that must be refused. b.mu must be held.
func (b *buffered[T]) yieldSlow(item T) error {
	s := b.s
	if b.ctx.Err() != nil { // an atomic load, cheaper than a receive from Done
		b.refuse()
	}
	switch {
	case s.err != nil:
		return s.err
	case b.refused != nil:
		return b.refused
	case s.yieldDone:
		return generator.ErrClosed
	case !s.opened:
		if err := s.open(); err != nil {
			s.err = err
			s.cancel(err)
			return err
		}
	}
	empty := len(s.buf) == 0
	buf, err := b.append(s.buf, item)
	if err != nil {
		return b.encodeFailed(err)
	}
	s.buf = buf
	s.report.Items++
	switch {
	case b.quiet:
		b.quiet = false
		b.seen = s.report.Items
		if !b.writeBuf(true) {
			return b.fail()
		}
		b.arm(flushDelay) // to learn whether the producer is quiet again
		return nil
	case len(s.buf) >= s.budget:
		return b.writeFull()
	case empty:
		b.firstAt = time.Now()
		b.arm(flushDelay)
	}
	b.fast = true
	return nil
}

// writeFull writes a batch that has reached the byte budget, without a
// flush, since more items follow at once. b.mu must be held.
func (b *buffered[T]) writeFull() error {
	b.fast = false // the next item begins a batch
	if !b.writeBuf(false) {
		return b.fail()
	}
	// Put the timer off: a producer that fills batch after batch is not
	// interrupted by it, and one that stops now has the batch flushed,
	// and is found quiet, by it.
	b.postpone()
	return nil
}

// ownedWrite is the end of yield's path for an owned stream, apart so that
// the path itself stays small: it writes buf, the batch with the item that
// filled it, or fails the stream with err, the encoder's refusal of the
// item.
func (b *buffered[T]) ownedWrite(buf []byte, err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		return b.encodeFailed(err)
	}
	b.s.buf = buf
	b.s.report.Items++
	return b.writeFull()
}

// encodeFailed ends the stream with the encoder's error. b.mu must be
// held.
func (b *buffered[T]) encodeFailed(err error) error {
	b.fast = false
	b.s.err = err
	b.s.cancel(err)
	return err
}

// refuse makes yield refuse items from now on, once the producer's context
// has ended: the client left, or the stream's time is up. The producer
// returns the context's cause, and the stream ends as that says. b.mu must
// be held.
func (b *buffered[T]) refuse() {
	b.fast = false
	if b.refused == nil {
		b.refused = context.Cause(b.ctx)
	}
}

// fail cancels the producer's context after a write that ended the
// stream, and returns why it ended. b.mu must be held.
func (b *buffered[T]) fail() error {
	b.fast = false
	err := b.s.err
	if err == nil {
		err = b.refused
	}
	b.s.cancel(err)
	return err
}

// writeBuf writes the buffer, and flushes it if flush is set, unless the
// producers' context has ended. It reports whether the stream goes on.
// b.mu must be held.
func (b *buffered[T]) writeBuf(flush bool) bool {
	s := b.s
	if b.ctx.Err() != nil {
		b.refuse()
		return false
	}
	b.unflushed = !flush
	return s.send(s.c.Writer, flush)
}

// flush flushes what earlier writes left in the response's buffers.
// b.mu must be held.
func (b *buffered[T]) flush() {
	s := b.s
	b.unflushed = false
	s.c.Writer.Flush()
	if err := s.rc.Flush(); err != nil {
		s.writeFailed(err)
		s.cancel(s.err)
		return
	}
	s.report.Flushes++
}

// arm sets the flush timer to run tick after d, unless it is set or the
// producer owns the stream. b.mu must be held.
func (b *buffered[T]) arm(d time.Duration) {
	if b.armed || b.owned {
		return
	}
	b.armed = true
	if b.timer == nil {
		b.timer = time.AfterFunc(d, b.tick)
		return
	}
	b.timer.Reset(d)
}

// postpone sets the flush timer to run tick flushDelay from now, unless
// tick has begun. b.mu must be held.
func (b *buffered[T]) postpone() {
	switch {
	case !b.armed:
		b.arm(flushDelay) // which refuses for an owned stream
	case b.timer.Stop():
		b.timer.Reset(flushDelay)
	}
	// Otherwise tick waits for the lock, and arms the timer again.
}

// tick runs on the flush timer's goroutine: it writes and flushes what has
// waited flushDelay in the buffer, and marks the producer quiet when it
// yielded nothing since the last tick.
func (b *buffered[T]) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	s := b.s
	if s.yieldDone {
		b.ticked <- struct{}{} // runBuffered waits for it
		return
	}
	if s.err != nil || b.refused != nil {
		return
	}
	if len(s.buf) > 0 {
		if wait := flushDelay - time.Since(b.firstAt); wait > 0 {
			b.arm(wait) // a batch begun since the last tick
			return
		}
		b.fast = false
		b.seen = s.report.Items
		if !b.writeBuf(true) {
			b.fail()
			return
		}
		b.arm(flushDelay)
		return
	}
	if b.unflushed {
		b.flush()
	}
	if b.seen != s.report.Items {
		b.seen = s.report.Items
		b.arm(flushDelay)
		return
	}
	b.quiet = true
	s.idle() // the producer may now wait longer than the stall timeout
}
