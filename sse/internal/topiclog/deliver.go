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
	c := &l.config
	if start.Reset != "" {
		if err := yield(c.Reset(start.Reset, start.Joined)); err != nil {
			return err
		}
	}
	for i, item := range start.replay {
		if err := yield(item); err != nil {
			return err
		}
		var zero T
		start.replay[i] = zero // held no longer than it takes to yield
	}
	next, joined := start.Next+uint64(len(start.replay)), start.Joined
	start.replay = nil
	buffer := uint64(min(c.Buffer, c.Limit))
	var batch []T
	w := l.waiters.join()
	defer l.waiters.leave(w)
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		default:
		}
		// Joined before this look: a change after it leaves a token.
		if l.newest.Load() < next && !l.closed.Load() {
			// Up to date with an open log: nothing to take.
			select {
			case <-w.changed:
				continue
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		l.mu.RLock()
		head, end := l.ring.head, l.end
		from := next
		if live := max(next, joined+1); head >= live && head-live+1 > buffer {
			from = head - buffer + 1 // slow: keep the newest buffer items
		}
		from = max(from, l.ring.oldest()) // what was forgotten is missed too
		missed := from - next
		// Still owed replayed items, which happens only to a subscriber
		// placed by a record that the log had yet to catch up with: one
		// that misses them was never behind, but its record lost them
		// first, as if it had come a moment later; it is reset, not cut.
		replaying := next <= joined
		if missed > 0 && c.Disconnect && !replaying {
			l.mu.RUnlock()
			return slow(c.Slow, head-next+1)
		}
		var (
			one  T // the only new item, the usual case of a live subscriber
			took = from <= head
		)
		switch {
		case from == head:
			one = l.ring.at(int(from - l.ring.oldest())).item
			next = head + 1
		case took:
			batch = l.ring.appendRange(batch, from)
			next = head + 1
		default:
			next = from // the log has yet to catch up
		}
		l.mu.RUnlock()

		if missed > 0 {
			if err := yield(l.skipped(replaying, from, missed)); err != nil {
				return err
			}
		}
		if took && len(batch) == 0 {
			// On the stack rather than in batch, whose array is one
			// more line of memory to fetch for each subscriber woken.
			if err := yield(one); err != nil {
				return err
			}
		}
		for _, item := range batch {
			if err := yield(item); err != nil {
				return err
			}
		}
		if took || missed > 0 {
			clear(batch) // hold no item while idle
			if cap(batch) > 256 {
				batch = nil // nor a replay-sized slice
			}
			batch = batch[:0]
			continue // more may have come meanwhile
		}
		if end != nil {
			return end
		}
		// Nothing to take: next is past what the lock showed, so the
		// loop's first look waits, unless an item has come since.
	}
}

// skipped returns the item that tells a subscriber that it skipped the
// missed items before from: a Reset if they were replayed items, Missed
// otherwise. It is apart from Deliver for the same reason as slow.
func (l *Log[T]) skipped(replayed bool, from, missed uint64) T {
	if replayed {
		return l.config.Reset(ResetTooOld, from-1)
	}
	return l.config.Missed(missed)
}

// slow returns the error that ends the delivery to a subscriber n items
// behind, under Disconnect. It is apart from Deliver, whose frame stays on
// the stack under every yield, so that its arguments take no room there.
func slow(err error, n uint64) error {
	return fmt.Errorf("%w: %d events behind", err, n)
}
