package natshub

import (
	"time"

	"github.com/ginstream/ginstream/sse"
)

// ring is one instance's copy of the newest events of a topic's stream,
// framed once: the replay of the clients that resume, and the queue of
// every subscriber of the topic, each of which keeps only its position in
// it. It holds at most limit events, numbered by their stream sequence
// numbers base+1 … head with no gap.
//
// It is not safe for concurrent use: its topic's lock guards it.
type ring struct {
	items []item // items[(start+i) % len(items)] is the i-th oldest kept
	start int
	n     int    // items kept
	base  uint64 // the number before the oldest kept
	head  uint64 // the number of the newest event; base if none is kept
}

// item is an event of a ring and when it was stored in the stream.
type item struct {
	f  sse.Frame
	at time.Time
}

// newRing returns an empty ring whose next event is number next.
func newRing(next uint64) ring { return ring{base: next - 1, head: next - 1} }

// add appends the event numbered seq, dropping the oldest if limit are kept
// already. An event that does not follow head (the stream lost events
// between them, which only happens when they were removed before this
// instance read them) empties the ring first: the events before it are
// missed by whoever had not read them.
func (r *ring) add(seq uint64, f sse.Frame, at time.Time, limit int) {
	if seq != r.head+1 {
		clear(r.items)
		r.start, r.n = 0, 0
		r.base, r.head = seq-1, seq-1
	}
	if r.n >= limit {
		r.drop()
	}
	if r.n == len(r.items) {
		items := make([]item, min(max(2*len(r.items), 16), limit))
		for i := range r.n {
			items[i] = r.at(i)
		}
		r.items, r.start = items, 0
	}
	r.head = seq
	r.items[(r.start+r.n)%len(r.items)] = item{f, at}
	r.n++
}

// at returns the i-th oldest item kept.
func (r *ring) at(i int) item { return r.items[(r.start+i)%len(r.items)] }

// drop forgets the oldest item.
func (r *ring) drop() {
	r.items[r.start] = item{}
	r.start = (r.start + 1) % len(r.items)
	r.n--
	r.base++
}

// expire forgets the items stored before cutoff.
func (r *ring) expire(cutoff time.Time) {
	for r.n > 0 && r.at(0).at.Before(cutoff) {
		r.drop()
	}
}

// oldest returns the number of the oldest event kept, or head+1 if none.
func (r *ring) oldest() uint64 { return r.base + 1 }

// appendRange appends the frames numbered from to head to dst; from must
// not be older than oldest.
func (r *ring) appendRange(dst []sse.Frame, from uint64) []sse.Frame {
	for i := int(from - r.oldest()); i < r.n; i++ {
		dst = append(dst, r.at(i).f)
	}
	return dst
}
