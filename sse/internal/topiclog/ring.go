package topiclog

import "time"

// ring holds a log's newest items, numbered by their ids base+1 … head
// with no gap: at most a limit of them, growing as needed up to it.
//
// It is not safe for concurrent use: its log's lock guards it.
type ring[T any] struct {
	entries []entry[T] // entries[(start+i) % len(entries)] is the i-th oldest kept
	start   int
	n       int    // entries kept
	base    uint64 // the id before the oldest kept
	head    uint64 // the id of the newest item; base if none is kept
}

// entry is an item of a ring and when it was appended.
type entry[T any] struct {
	item T
	at   time.Time
}

// newRing returns an empty ring whose next item has the id next.
func newRing[T any](next uint64) ring[T] { return ring[T]{base: next - 1, head: next - 1} }

// add appends the item numbered id, dropping the oldest if limit are kept
// already. An id that does not follow head empties the ring first.
func (r *ring[T]) add(id uint64, item T, at time.Time, limit int) {
	if id != r.head+1 {
		clear(r.entries)
		r.start, r.n = 0, 0
		r.base, r.head = id-1, id-1
	}
	if r.n >= limit {
		r.drop()
	}
	if r.n == len(r.entries) {
		entries := make([]entry[T], min(max(2*len(r.entries), 16), limit))
		for i := range r.n {
			entries[i] = r.at(i)
		}
		r.entries, r.start = entries, 0
	}
	r.head = id
	r.entries[(r.start+r.n)%len(r.entries)] = entry[T]{item, at}
	r.n++
}

// at returns the i-th oldest entry kept.
func (r *ring[T]) at(i int) entry[T] { return r.entries[(r.start+i)%len(r.entries)] }

// drop forgets the oldest entry.
func (r *ring[T]) drop() {
	r.entries[r.start] = entry[T]{}
	r.start = (r.start + 1) % len(r.entries)
	r.n--
	r.base++
}

// expire forgets the entries appended before cutoff.
func (r *ring[T]) expire(cutoff time.Time) {
	for r.n > 0 && r.at(0).at.Before(cutoff) {
		r.drop()
	}
}

// oldest returns the id of the oldest item kept, or head+1 if none.
func (r *ring[T]) oldest() uint64 { return r.base + 1 }

// firstYoung returns the id of the oldest item kept that was appended at or
// after cutoff, or head+1 if none was: the items before it have expired,
// even if they are not forgotten yet.
func (r *ring[T]) firstYoung(cutoff time.Time) uint64 {
	first := r.oldest()
	for i := 0; i < r.n && r.at(i).at.Before(cutoff); i++ {
		first++
	}
	return first
}

// appendRange appends the items numbered from to head to dst; from must
// not be older than oldest.
func (r *ring[T]) appendRange(dst []T, from uint64) []T {
	for i := int(from - r.oldest()); i < r.n; i++ {
		dst = append(dst, r.at(i).item)
	}
	return dst
}
