package sink

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ginstream/ginstream/generator"
)

// runInline runs the producer of StreamInline and returns the report.
func (s *session[T]) runInline(producer generator.Func[T]) Report {
	var mu sync.Mutex // serializes yields and the header timer
	yield := func(item T) error {
		mu.Lock()
		defer mu.Unlock()
		return s.writeItem(item)
	}
	ctx, cancel := context.WithCancelCause(s.c.Request.Context())
	defer cancel(nil)
	ctx, stopClock := s.w.lifetime(ctx)
	defer stopClock()
	s.cancel = cancel
	stopHeaders := s.headerTimer(&mu)
	err := producer.Call(ctx, yield)
	stopHeaders()
	mu.Lock() // a yield from a goroutine the producer failed to join ends now
	defer mu.Unlock()
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
	return s.report
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
	if s.write(s.c.Writer) {
		// The producer may now wait for its next item for longer than
		// the stall timeout.
		s.idle()
	} else {
		s.cancel(s.err)
	}
	return s.err
}
