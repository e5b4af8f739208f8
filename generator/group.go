package generator

import (
	"context"
	"errors"
	"io"
	"iter"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// DefaultCapacity is the number of items a [Group] buffers when
// [Options.Capacity] is zero.
const DefaultCapacity = 1024

// ErrClosed is the cause with which [Group.Close] cancels producers that are
// still running; their yield returns an error matching it.
var ErrClosed = errors.New("generator: stream closed")

// Options configure a [Group]. The zero value is ready to use.
type Options struct {
	// Capacity bounds the number of items produced and not yet received.
	// A producer whose item would exceed it blocks in yield until the
	// consumer receives. The consumer holds at most one further batch, so
	// at most 2×Capacity items are in memory. Zero means DefaultCapacity.
	Capacity int
}

// Group is a set of running producers feeding one bounded buffer, and the
// consumer's end of it. Create one with [Start]; the consumer must call
// [Group.Close] when done with it.
//
// Next, TryNext and All are for one consumer goroutine; Close may be called
// from any goroutine.
type Group[T any] struct {
	capacity  int
	ctx       context.Context // parent of the producers' context
	pctx      context.Context // the producers' context
	done      <-chan struct{} // pctx.Done()
	group     *errgroup.Group
	cancel    context.CancelCauseFunc
	stopWatch func() bool
	watchDone chan struct{} // closed when the cancellation watcher has run
	ready     chan struct{} // wakes a waiting consumer; capacity 1

	mu       sync.Mutex
	items    []T
	waiting  bool          // the consumer waits on ready
	space    chan struct{} // closed when the consumer takes items; nil if no producer waits
	running  int           // producers that have not returned
	err      error         // first producer error
	canceled error         // cause of the producers' context, once cancelled

	closeOnce sync.Once
	closeErr  error
}

// Start runs each producer in its own goroutine and returns the stream they
// feed. The producers' context is derived from ctx: cancelling ctx stops them.
// The stream ends when every producer has returned.
//
// The caller must call [Group.Close], which cancels what is still running
// and waits for it.
func Start[T any](ctx context.Context, opts Options, producers ...Func[T]) *Group[T] {
	capacity := opts.Capacity
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	ctx, cancel := context.WithCancelCause(ctx)
	g, gctx := errgroup.WithContext(ctx)
	s := &Group[T]{
		capacity:  capacity,
		ctx:       ctx,
		pctx:      gctx,
		done:      gctx.Done(),
		group:     g,
		cancel:    cancel,
		ready:     make(chan struct{}, 1),
		items:     make([]T, 0, min(capacity, 256)),
		running:   len(producers),
		watchDone: make(chan struct{}),
	}
	s.stopWatch = context.AfterFunc(gctx, func() {
		defer close(s.watchDone)
		s.cancelled(context.Cause(gctx))
	})
	yield := func(item T) error { return s.push(item) }
	for _, p := range producers {
		g.Go(func() (err error) {
			defer s.producerDone(&err)
			return p.Call(gctx, yield)
		})
	}
	return s
}

// push adds one item to the buffer, blocking while it is full.
func (s *Group[T]) push(item T) error {
	s.mu.Lock()
	if s.canceled == nil {
		// Do not wait for the watcher's goroutine to see a cancellation.
		select {
		case <-s.done:
			s.setCanceled(context.Cause(s.pctx))
		default:
		}
	}
	for len(s.items) >= s.capacity && s.canceled == nil {
		if s.space == nil {
			s.space = make(chan struct{})
		}
		space := s.space
		s.mu.Unlock()
		<-space // closed by the consumer or by cancellation
		s.mu.Lock()
	}
	if err := s.canceled; err != nil {
		s.mu.Unlock()
		return err
	}
	s.items = append(s.items, item)
	if s.waiting {
		s.waiting = false
		s.wake()
	}
	s.mu.Unlock()
	return nil
}

// wake signals the consumer without blocking. s.mu must be held.
func (s *Group[T]) wake() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// freeSpace releases producers blocked on a full buffer. s.mu must be held.
func (s *Group[T]) freeSpace() {
	if s.space != nil {
		close(s.space)
		s.space = nil
	}
}

// producerDone records the end of one producer.
func (s *Group[T]) producerDone(err *error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running--
	if *err != nil && s.err == nil {
		// From now on yield refuses items, even before errgroup has
		// cancelled the other producers' context.
		s.err = *err
		s.setCanceled(*err)
	}
	if s.running == 0 || *err != nil {
		s.wake()
	}
}

// cancelled runs once the producers' context is done.
func (s *Group[T]) cancelled(cause error) {
	if cause == nil {
		cause = context.Canceled
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setCanceled(cause)
}

// setCanceled refuses further items and wakes everyone. s.mu must be held.
func (s *Group[T]) setCanceled(cause error) {
	if s.canceled == nil {
		s.canceled = cause
	}
	s.freeSpace()
	s.wake()
}

// end reports why the stream has no more items, or nil if more may come.
// s.mu must be held and the buffer must be empty.
func (s *Group[T]) end() error {
	switch {
	case s.err != nil:
		return s.err
	case s.running == 0:
		return io.EOF
	case s.canceled != nil:
		return s.canceled
	}
	return nil
}

// Next waits until at least one item is buffered or the stream ends, and
// returns every buffered item in order. At the end it returns io.EOF if all
// producers succeeded, or else the first producer's error (or the cause of
// the cancellation); items produced before an error are returned first.
//
// To avoid allocating, Next fills the caller's spare slice dst (cleared and
// reused) for the next batch and hands over the buffer's own: pass back a
// slice from an earlier call once done with its items. dst may be nil.
func (s *Group[T]) Next(dst []T) ([]T, error) {
	return s.NextUntil(dst, nil) // a nil channel never delivers
}

// NextUntil is [Group.Next] that gives up when stop delivers a value (a
// timer's channel, say): it then returns an empty batch and a nil error,
// and the stream goes on. A nil stop never gives up.
func (s *Group[T]) NextUntil(dst []T, stop <-chan time.Time) ([]T, error) {
	s.mu.Lock()
	for len(s.items) == 0 {
		if err := s.end(); err != nil {
			s.mu.Unlock()
			return dst[:0], err
		}
		s.waiting = true
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-stop:
			return dst[:0], nil
		}
		s.mu.Lock()
	}
	out := s.take(dst)
	s.mu.Unlock()
	return out, nil
}

// TryNext returns the items buffered now without waiting, like [Group.Next];
// the result is empty if there are none, and the end of the stream is left
// for Next to report.
func (s *Group[T]) TryNext(dst []T) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) == 0 {
		return dst[:0]
	}
	return s.take(dst)
}

// take swaps the buffered items for dst. s.mu must be held.
func (s *Group[T]) take(dst []T) []T {
	out := s.items
	clear(dst)
	s.items = dst[:0]
	s.freeSpace()
	return out
}

// Close cancels the producers that are still running, with cause
// [ErrClosed], and waits until every one has returned. It returns the first
// producer error, or nil; a producer that returns yield's error or its
// context's error after Close cancelled it has not failed. Close is
// idempotent and safe to call from any goroutine.
func (s *Group[T]) Close() error {
	s.closeOnce.Do(func() {
		s.cancel(ErrClosed)
		err := s.group.Wait()
		if !s.stopWatch() {
			<-s.watchDone // join the watcher's goroutine
		}
		if errors.Is(context.Cause(s.ctx), ErrClosed) &&
			(errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled)) {
			err = nil // the producer stopped because of Close
		}
		s.closeErr = err
	})
	return s.closeErr
}

// All returns an iterator over the stream's items. It yields each item with
// a nil error and, if the stream failed, a final zero item with the error;
// never an item together with an error. The iterator closes the stream when
// the loop ends, early or not, so every producer has returned when the loop
// is over. It is single-use.
func (s *Group[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		defer s.Close()
		var batch []T
		for {
			var err error
			batch, err = s.Next(batch)
			if err == io.EOF {
				return
			}
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range batch {
				if !yield(item, nil) {
					return
				}
			}
		}
	}
}
