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
type Start struct {
	// Next is the id of the first item to deliver.
	Next uint64
	// Joined is the id of the topic's newest item when the subscriber
	// joined: the items up to it are its replay, which does not count
	// against its buffer.
	Joined uint64
	// Reset, if not empty, is why the subscriber is first told that it
	// missed items: ResetTooOld or ResetUnknown.
	Reset string
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
func (l *Log[T]) Resume(lastID string, record Range) Start {
	newest := record.Newest
	live := Start{Next: newest + 1, Joined: newest}
	id, err := strconv.ParseUint(lastID, 10, 64)
	if err != nil {
		return live // no id, or a malformed one
	}
	if id > newest {
		live.Reset = ResetUnknown
		return live
	}
	l.mu.RLock()
	kept := l.ring.firstYoung(time.Now().Add(-l.config.MaxAge))
	l.mu.RUnlock()
	if id+1 < max(record.Oldest, kept) {
		live.Reset = ResetTooOld
		return live
	}
	return Start{Next: id + 1, Joined: newest}
}
