package sink

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ginstream/ginstream/generator"
)

// startInline readies the session for StreamInline or Open and returns
// the stream's context: its cancellation, the clock of Config.MaxDuration
// and the header timer, which endInline ends.
func (s *session[T]) startInline() context.Context {
	ctx, cancel := context.WithCancelCause(s.req)
	s.cancel = cancel
	ctx, s.stopClock = s.w.lifetime(ctx)
	s.stopHeaders = s.headerTimer(&s.mu)
	return ctx
}

// yieldInline is StreamInline's yield: it writes item, serialized with
// other yields and the header timer.
func (s *session[T]) yieldInline(item T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeItem(item)
}

// endInline settles how StreamInline's producer ended, with err, once it
// has returned.
func (s *session[T]) endInline(err error) {
	defer s.cancel(nil)
	defer s.stopClock()
	s.stopHeaders()
	s.mu.Lock() // a yield from a goroutine the producer failed to join ends now
	defer s.mu.Unlock()
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
			s.cancel(err)
			return
		}
		s.sendHeaders(s.c.Writer)
		if s.err != nil {
			s.cancel(s.err)
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
		s.cancel(err)
		return err
	}
	s.report.Items++
	if s.write(s.c.Writer) {
		// The producer may now wait for its next item for longer than
		// the stall timeout.
		s.idle()
	} else {
		s.cancel(s.err)
	}
	return s.err
}
