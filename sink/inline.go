package sink

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ginstream/ginstream/generator"
)

// startInline readies the session for StreamInline or Open: the header
// timer, which endInline stops. The stream's context is made when it is
// first asked for (streamContext): a stream whose handler never asks for
// it — sse's subscriptions to a MemHub, which watch the request's context
// and their delivery — registers no child in the request's context, whose
// map of children, with the child and its channel, would cost about 0.45
// KB for as long as the stream is open.
func (s *session[T]) startInline() {
	s.stopHeaders = s.headerTimer(&s.mu)
}

// streamContext returns the stream's context, made on its first use:
// derived from the request's, it is cancelled, with the stream's error as
// its cause, once the stream cannot go on or is closed, and at
// Config.MaxDuration after the stream began. s.mu must be held.
func (s *session[T]) streamContext() context.Context {
	if s.ctx != nil {
		return s.ctx
	}
	ctx, cancel := context.WithCancelCause(s.req)
	s.cancel = cancel
	if d := s.w.MaxDuration; d > 0 {
		var stopClock context.CancelFunc
		ctx, stopClock = context.WithDeadlineCause(ctx, s.start.Add(d), ErrMaxDuration)
		s.cancel = func(cause error) {
			cancel(cause)
			stopClock()
		}
	}
	s.ctx = ctx
	switch { // as it would have been cancelled, had it been made at Open
	case s.yieldDone && s.report.Err != nil:
		s.cancel(s.report.Err)
	case s.yieldDone:
		s.cancel(generator.ErrClosed)
	case s.err != nil:
		s.cancel(s.err)
	}
	return ctx
}

// cancelStream cancels the stream's context with cause, if it has one.
func (s *session[T]) cancelStream(cause error) {
	if s.cancel != nil {
		s.cancel(cause)
	}
}

// yieldInline is StreamInline's yield: it writes item, serialized with
// other yields and the header timer.
func (s *session[T]) yieldInline(item T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) > 0 { // never between yields; kept safe all the same
		return s.writeItem(item)
	}
	p := inlineBuffers.Get().(*[]byte)
	s.buf = *p
	err := s.writeItem(item)
	*p, s.buf = s.buf[:0], nil
	if cap(*p) <= maxLentBuffer {
		inlineBuffers.Put(p)
	}
	return err
}

// inlineBuffers lends the buffer an inline stream encodes an item into, for
// the item's write: a stream that holds one of its own between items
// holds it for as long as it waits for the next, which for thousands of
// idle event streams is as many buffers as the largest event each has
// sent. The pool keeps about one per processor busy writing.
var inlineBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxLentBuffer is the largest buffer inlineBuffers keeps: one that a huge
// item grew is left to the collector rather than lent for small ones.
const maxLentBuffer = 64 << 10

// endInline settles how StreamInline's producer ended, with err, once it
// has returned.
func (s *session[T]) endInline(err error) {
	s.stopHeaders()
	s.mu.Lock() // a yield from a goroutine the producer failed to join ends now
	defer s.mu.Unlock()
	defer s.cancelStream(nil)
	s.yieldDone = true
	switch {
	case s.err != nil:
		err = s.err // the stream failed in yield; the producer's error follows from it
	case err == nil:
		if !s.opened {
			err = s.open()
		}
		if err == nil {
			s.sendHeaders(s.c.Writer) // and an encoder's preamble, in a stream of no items
			err = s.err
		}
	}
	s.stop(err)
}

// headerTimer sends the headers after Config.HeaderTimeout if no item has
// opened the stream by then. It returns a function that stops the timer
// and waits for it to finish if it has started.
func (s *session[T]) headerTimer(mu *sync.Mutex) (stop func()) {
	if s.w.HeaderTimeout <= 0 {
		return func() {}
	}
	fired := make(chan struct{})
	t := time.AfterFunc(s.w.HeaderTimeout, func() {
		defer close(fired)
		mu.Lock()
		defer mu.Unlock()
		if s.opened || s.err != nil || s.yieldDone {
			return
		}
		if err := s.open(); err != nil {
			s.err = err
			s.cancelStream(err)
			return
		}
		s.sendHeaders(s.c.Writer)
		if s.err != nil {
			s.cancelStream(s.err)
		} else {
			s.idle()
		}
	})
	return func() {
		if !t.Stop() {
			<-fired
		}
	}
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
	// The request's context, not the stream's own (its child): a
	// producer that watches the request's may run between the moment it
	// is done and the moment its children are cancelled. Kept in the
	// session, so that the Request is not read for every item.
	if s.req.Err() != nil {
		s.outcome, s.err = ClientGone, fmt.Errorf("%w: %w", ErrClientGone, context.Cause(s.req))
		return s.err
	}
	if !s.opened {
		if err := s.open(); err != nil {
			s.err = err
			return err
		}
	}
	var err error
	if s.buf, err = s.enc.Append(s.buf, item); err != nil {
		s.buf = s.buf[:0]
		s.err = err
		s.cancelStream(err)
		return err
	}
	s.report.Items++
	if s.write(s.c.Writer) {
		// The producer may now wait for its next item for longer than
		// the stall timeout.
		s.idle()
	} else {
		s.cancelStream(s.err)
	}
	return s.err
}
