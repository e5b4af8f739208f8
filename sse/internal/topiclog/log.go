// Package topiclog is the log of one topic of an SSE hub: a bounded ring
// of the topic's newest items, numbered by consecutive ids, that serves
// both the replay of clients that resume from a Last-Event-ID and the live
// delivery to the topic's subscribers, each of which is no more than a
// position in it. sse.MemHub and natshub.Hub keep one log per topic; what
// stays theirs is where the items and their ids come from (MemHub numbers
// events as they are published; natshub reads them, numbered by
// JetStream, from a stream) and when a log ends.
//
//	log := topiclog.New(config, next)
//	log.Append(id, frame, publishedAt)           // by the topic's writer
//	start := log.Resume(lastEventID, log.Kept()) // placing a subscriber
//	err := log.Deliver(ctx, start, yield)        // on the subscriber's goroutine
//	log.Close(sse.ErrHubClosed)                     // deliveries end with it once up to date
//
// An item is appended once, however many subscribers it has; each
// subscriber copies the items it has not had yet, in batches, on its own
// goroutine. A Log is safe for concurrent use and starts no goroutine.
package topiclog

import (
	"sync"
	"sync/atomic"
	"time"
)

// Config is what the logs of a hub share: the bounds of each log, what
// happens to a subscriber that falls behind, and the items that tell a
// subscriber why it missed items. Every field but Disconnect must be set.
type Config[T any] struct {
	// Limit is the most items a log keeps. It must be positive.
	Limit int

	// MaxAge is how long a log keeps an item: older ones are forgotten
	// when the next item is appended, and a subscriber whose next item is
	// older is reset when it resumes (see [Log.Resume]). It must be
	// positive.
	MaxAge time.Duration

	// Buffer is how many items a subscriber may fall behind: items
	// appended since it last took its new items, not counting those
	// replayed to it when it joined. A Buffer larger than Limit counts as
	// Limit.
	Buffer int

	// Disconnect says what happens to a subscriber further behind than
	// Buffer: if set, its delivery ends with an error that wraps Slow;
	// otherwise it skips its oldest items, keeping the newest Buffer, and
	// is told how many it skipped with Missed.
	Disconnect bool

	// Slow is the error that the delivery of a slow subscriber wraps,
	// under Disconnect.
	Slow error

	// Reset returns the item that tells a subscriber it missed items that
	// the log no longer keeps, or whose last id it never issued: reason
	// is ResetTooOld or ResetUnknown, newest the id after which the
	// subscriber goes on: the topic's newest item when it was placed, or,
	// for a subscriber whose replay its topic's record lost before the
	// log had it, the item before the oldest the log keeps.
	Reset func(reason string, newest uint64) T

	// Missed returns the item that tells a slow subscriber that it
	// skipped n items, without Disconnect.
	Missed func(n uint64) T
}

// Log is the log of one topic: its newest items, which it delivers to its
// subscribers. Its items are appended in the order of their ids, by one
// writer at a time; any number of subscribers read them at once. Make one
// with [New].
type Log[T any] struct {
	config Config[T]

	mu   sync.RWMutex
	ring ring[T]
	end  error // why deliveries end once up to date; nil while open

	// What a subscriber that has had every item reads, without the lock
	// that all of the log's subscribers would otherwise take once more
	// for each item, to see that it may wait; written under mu.
	newest atomic.Uint64 // ring.head
	closed atomic.Bool   // end is set

	waiters waiters // the subscribers to wake when an item is appended
}

// New returns an empty log whose first item will have the id next.
func New[T any](c Config[T], next uint64) *Log[T] {
	l := &Log[T]{config: c, ring: newRing[T](next)}
	l.newest.Store(l.ring.head)
	return l
}

// Append adds item, with the given id and appended (published) at at, as
// the log's newest, forgets the items older than MaxAge and, if Limit are
// kept, the oldest, and wakes the log's subscribers. The id must be
// greater than Head; one further on than Head+1 (the items between were
// lost, such as events a stream removed before they were read) empties the
// log first, so that a subscriber that had not had them is told it missed
// them.
func (l *Log[T]) Append(id uint64, item T, at time.Time) {
	l.mu.Lock()
	l.ring.expire(time.Now().Add(-l.config.MaxAge))
	l.ring.add(id, item, at, l.config.Limit)
	l.newest.Store(l.ring.head)
	l.mu.Unlock()
	l.waiters.wake() // outside mu, which the woken take at once
}

// Close ends the log: every delivery, once it has delivered the items
// appended before, returns err, which must not be nil. Only the first
// call has an effect.
func (l *Log[T]) Close(err error) {
	if err == nil {
		panic("topiclog: Close with a nil error")
	}
	l.mu.Lock()
	if l.end != nil {
		l.mu.Unlock()
		return
	}
	l.end = err
	l.closed.Store(true)
	l.mu.Unlock()
	l.waiters.wake()
}

// Head returns the id of the newest item appended; the id before the
// first if none has been.
func (l *Log[T]) Head() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.ring.head
}

// Range is the ids from Oldest to Newest; none if Oldest is after Newest.
type Range struct {
	Oldest, Newest uint64
}

// Kept returns the ids of the items the log keeps: from Head+1 to Head if
// it keeps none. A log that is its topic's only record places subscribers
// by them (see [Log.Resume]).
func (l *Log[T]) Kept() Range {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return Range{l.ring.oldest(), l.ring.head}
}

// Stale reports whether the log keeps no item younger than MaxAge, so that
// a topic without subscribers may be forgotten.
func (l *Log[T]) Stale() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	r := &l.ring
	return r.n == 0 || r.at(r.n-1).at.Before(time.Now().Add(-l.config.MaxAge))
}
