package topiclog

import (
	"context"
	"fmt"
)

// Deliver calls yield with the log's items from start on, in the order of
// their ids, until ctx is done, yield returns an error, the subscriber
// falls further behind than Buffer under Disconnect, or the log is closed;
// and returns why: context.Cause(ctx), yield's error, an error wrapping
// Slow, or the error given to Close once every item appended before Close
// has been yielded. If start has a Reset, it first yields the Reset item;
// then the items of the replay that [Log.Resume] copied.
//
// It calls yield on the goroutine that called it, one item at a time: it
// takes the items it has not yielded yet in one batch under the log's
// lock, and yields them outside it, so that a slow yield holds up neither
// the writer nor the other subscribers. A start ahead of the log (which
// lags behind its topic's record) waits for the log to catch up.
func (l *Log[T]) Deliver(ctx context.Context, start Start[T], yield func(T) error) error {
	changed := make(chan struct{}, 1) // a token once the log has changed since the last look
	c := l.Attach(start, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer c.Detach()
	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err := c.Take(yield); err != nil {
			return err
		}
		// Up to date: attached before the look, so a change since
		// has left a token.
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// Cursor is a subscriber's place in a log: what it has been given, and its
// place among the log's waiters. Deliver moves one on the subscriber's
// goroutine, waiting between looks; a subscriber with no goroutine of its
// own (its items written by a pool of writers) calls Take whenever its
// wake function has been called. Make one with [Log.Attach].
type Cursor[T any] struct {
	l            *Log[T]
	next, joined uint64
	reset        string // the reset to yield first; "" once yielded
	replay       []T    // the replay copied when the subscriber was placed, not yet yielded
	batch        []T
	w            *waiter
}

// Attach places a subscriber at start (see [Log.Resume]) among the log's
// waiters: from now on wake is called, in the order subscribers attached,
// each time an item is appended or the log is closed. wake must not block
// (it runs with the log's waiters locked): it tells the subscriber to Take.
// The subscriber must Detach when it is done.
func (l *Log[T]) Attach(start Start[T], wake func()) *Cursor[T] {
	return &Cursor[T]{
		l:      l,
		next:   start.Next,
		joined: start.Joined,
		reset:  start.Reset,
		replay: start.replay,
		w:      l.waiters.join(wake),
	}
}

// Detach takes the subscriber out of the log's waiters: wake is not called
// once it returns. The cursor is not to be used after it.
func (c *Cursor[T]) Detach() {
	c.l.waiters.leave(c.w)
	c.replay, c.batch = nil, nil
}

// Take calls yield with the items the subscriber has not had, in the order
// of their ids, without waiting for more: first any Reset item and the
// replay, then the new items, taken in one batch under the log's lock and
// yielded outside it, so that a slow yield holds up neither the writer nor
// the other subscribers. It returns nil once up to date (the next wake
// will tell when there is more), or why the delivery is over: yield's
// error, an error wrapping Slow (the subscriber fell further behind than
// Buffer under Disconnect), or the error given to Close once every item
// appended before Close has been yielded. It must not be called by two
// goroutines at once.
func (c *Cursor[T]) Take(yield func(T) error) error {
	l, cfg := c.l, &c.l.config
	if c.reset != "" {
		reason := c.reset
		c.reset = ""
		if err := yield(cfg.Reset(reason, c.joined)); err != nil {
			return err
		}
	}
	for len(c.replay) > 0 {
		item := c.replay[0]
		c.replay[0] = *new(T) // held no longer than it takes to yield
		c.replay = c.replay[1:]
		c.next++
		if err := yield(item); err != nil {
			return err
		}
	}
	buffer := uint64(min(cfg.Buffer, cfg.Limit))
	for {
		if l.newest.Load() < c.next && !l.closed.Load() {
			return nil // up to date with an open log: nothing to take
		}
		l.mu.RLock()
		head, end := l.ring.head, l.end
		from := c.next
		if live := max(c.next, c.joined+1); head >= live && head-live+1 > buffer {
			from = head - buffer + 1 // slow: keep the newest buffer items
		}
		from = max(from, l.ring.oldest()) // what was forgotten is missed too
		missed := from - c.next
		// Still owed replayed items, which happens only to a subscriber
		// placed by a record that the log had yet to catch up with: one
		// that misses them was never behind, but its record lost them
		// first, as if it had come a moment later; it is reset, not cut.
		replaying := c.next <= c.joined
		if missed > 0 && cfg.Disconnect && !replaying {
			l.mu.RUnlock()
			return slow(cfg.Slow, head-c.next+1)
		}
		var (
			one  T // the only new item, the usual case of a live subscriber
			took = from <= head
		)
		switch {
		case from == head:
			one = l.ring.at(int(from - l.ring.oldest())).item
			c.next = head + 1
		case took:
			c.batch = l.ring.appendRange(c.batch, from)
			c.next = head + 1
		default:
			c.next = from // the log has yet to catch up
		}
		l.mu.RUnlock()

		if missed > 0 {
			if err := yield(l.skipped(replaying, from, missed)); err != nil {
				return err
			}
		}
		if took && len(c.batch) == 0 {
			// On the stack rather than in batch, whose array is one
			// more line of memory to fetch for each subscriber woken.
			if err := yield(one); err != nil {
				return err
			}
		}
		for _, item := range c.batch {
			if err := yield(item); err != nil {
				return err
			}
		}
		if took || missed > 0 {
			clear(c.batch) // hold no item while idle
			if cap(c.batch) > 256 {
				c.batch = nil // nor a replay-sized slice
			}
			c.batch = c.batch[:0]
			continue // more may have come meanwhile
		}
		if end != nil {
			return end
		}
		return nil // next is past what the lock showed: up to date
	}
}

// skipped returns the item that tells a subscriber that it skipped the
// missed items before from: a Reset if they were replayed items, Missed
// otherwise. It is apart from Take for the same reason as slow.
func (l *Log[T]) skipped(replayed bool, from, missed uint64) T {
	if replayed {
		return l.config.Reset(ResetTooOld, from-1)
	}
	return l.config.Missed(missed)
}

// slow returns the error that ends the delivery to a subscriber n items
// behind, under Disconnect. It is apart from Take, whose frame stays on
// the stack under every yield, so that its arguments take no room there.
func slow(err error, n uint64) error {
	return fmt.Errorf("%w: %d events behind", err, n)
}
