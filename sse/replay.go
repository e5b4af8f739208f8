package sse

import (
	"strconv"
	"time"
)

// replay is a topic's log of its recent frames, for resuming clients and
// as the queue of its subscribers: a ring of at most limit frames,
// numbered base+1, base+2, … up to head. Each subscriber keeps only its
// position in it, so that a subscriber costs the log nothing and an event
// costs one entry however many subscribers it has.
//
// It is not safe for concurrent use: its topic's locks guard it.
type replay struct {
	ring  []Frame // frames[(start+i) % len(ring)] is the i-th oldest kept
	start int
	n     int    // frames kept
	base  uint64 // the number before the topic's first event
	head  uint64 // the number of the newest event; base if none yet
}

// The reasons that an [EventReset] event gives.
const (
	resetTooOld  = "too-old"
	resetUnknown = "unknown"
)

// add appends f as event head+1, dropping the oldest frame if limit are
// kept already. The ring grows as needed, up to limit.
func (r *replay) add(f Frame, limit int) {
	if r.n >= limit {
		r.drop()
	}
	if r.n == len(r.ring) {
		ring := make([]Frame, min(max(2*len(r.ring), 16), limit))
		for i := range r.n {
			ring[i] = r.at(i)
		}
		r.ring, r.start = ring, 0
	}
	r.head++
	r.ring[(r.start+r.n)%len(r.ring)] = f
	r.n++
}

// at returns the i-th oldest frame kept.
func (r *replay) at(i int) Frame { return r.ring[(r.start+i)%len(r.ring)] }

// drop forgets the oldest frame.
func (r *replay) drop() {
	r.ring[r.start] = Frame{}
	r.start = (r.start + 1) % len(r.ring)
	r.n--
}

// expire forgets the frames published before cutoff.
func (r *replay) expire(cutoff time.Time) {
	for r.n > 0 && r.at(0).f.at.Before(cutoff) {
		r.drop()
	}
}

// oldest returns the number of the oldest frame kept, or head+1 if none.
func (r *replay) oldest() uint64 { return r.head - uint64(r.n) + 1 }

// appendRange appends the frames numbered from to head to dst; from must
// not be older than oldest.
func (r *replay) appendRange(dst []Frame, from uint64) []Frame {
	for i := int(from - r.oldest()); i < r.n; i++ {
		dst = append(dst, r.at(i))
	}
	return dst
}

// resume returns the number of the first event to deliver to a client
// whose last event id is lastID, and a reset reason if the client must be
// told that it missed events. An empty or malformed lastID means no id:
// the client gets the events published from now on. An id that is older
// than every frame published since cutoff (the replay age limit), or
// newer than head, gets a reset and the events from now on.
func (r *replay) resume(lastID string, cutoff time.Time) (next uint64, reset string) {
	id, err := strconv.ParseUint(lastID, 10, 64)
	if err != nil {
		return r.head + 1, "" // no id, or a malformed one
	}
	if id > r.head {
		return r.head + 1, resetUnknown
	}
	first := r.oldest()
	for i := 0; i < r.n && r.at(i).f.at.Before(cutoff); i++ {
		first++ // expired, even if not yet forgotten
	}
	if id+1 < first {
		return r.head + 1, resetTooOld
	}
	return id + 1, ""
}
