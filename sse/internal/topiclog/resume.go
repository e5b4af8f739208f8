package topiclog

import (
	"strconv"
	"time"
)

// The reasons that a subscriber is reset for, given to [Config.Reset].
const (
	// ResetTooOld: the item after the subscriber's last is no longer
	// kept, or is older than MaxAge.
	ResetTooOld = "too-old"
	// ResetUnknown: the subscriber's last id was never issued.
	ResetUnknown = "unknown"
)

// Start is where a subscriber's delivery starts, as [Log.Resume] places
// it.
type Start[T any] struct {
	// Next is the id of the first item to deliver.
	Next uint64
	// Joined is the id of the topic's newest item when the subscriber
	// joined: the items up to it are its replay, which does not count
	// against its buffer.
	Joined uint64
	// Reset, if not empty, is why the subscriber is first told that it
	// missed items: ResetTooOld or ResetUnknown.
	Reset string

	// replay is the items from Next on that the log kept when the
	// subscriber was placed, copied then: an item appended before the
	// subscriber's first look would otherwise make a full log forget the
	// oldest of them, and the subscriber would miss a replay it was
	// promised (and, under Disconnect, be cut as slow before it had
	// been given anything).
	replay []T
}

// Resume places a subscriber whose last item had the id lastID, as its
// client sent it (a Last-Event-ID). record is the ids of the items that
// the topic keeps where it is recorded, which the log may lag behind, as
// natshub's copy of a stream does; a log that is its topic's only record
// passes what it keeps itself, [Log.Kept].
//
// An empty or malformed lastID (anything but a decimal number) is no id:
// the subscriber gets the items after record.Newest. With the id of an
// item whose successor is kept (from record.Oldest on, and younger than
// MaxAge in the log), it gets the items after that one. With any other id
// it gets a reset and then the items after record.Newest: ResetUnknown for
// an id after it, ResetTooOld for an id before.
//
// The items of the replay that the log keeps are copied at once, under its
// lock: so the subscriber gets them even if the log forgets them before
// [Log.Deliver] reaches them.
func (l *Log[T]) Resume(lastID string, record Range) Start[T] {
	newest := record.Newest
	live := Start[T]{Next: newest + 1, Joined: newest}
	if lastID == "" {
		return live // no id (and no error of ParseUint's to allocate)
	}
	id, err := strconv.ParseUint(lastID, 10, 64)
	if err != nil {
		return live // a malformed id
	}
	if id > newest {
		live.Reset = ResetUnknown
		return live
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	kept := l.ring.firstYoung(time.Now().Add(-l.config.MaxAge))
	if id+1 < max(record.Oldest, kept) {
		live.Reset = ResetTooOld
		return live
	}
	start := Start[T]{Next: id + 1, Joined: newest}
	if start.Next <= l.ring.head {
		// From kept on, so kept by the ring; up to the log's head,
		// which a log behind its record may not have reached.
		start.replay = l.ring.appendRange(nil, start.Next)
	}
	return start
}
