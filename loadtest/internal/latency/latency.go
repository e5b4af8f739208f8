// Package latency records latencies into a histogram and reads quantiles
// from it, for the load programs (loadtest/sseload, loadtest/natsload).
package latency

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram counts latencies in microsecond buckets that are exact below
// 64 µs and then 32 to each power of two (within about 3%), up to about 12
// days. The zero value is empty and ready. It is safe for concurrent use:
// recording is an atomic add, with no allocation.
type Histogram struct {
	counts [buckets]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64 // nanoseconds
}

// buckets covers latencies up to 2^40 µs.
const buckets = 35*32 + 32

// bucketOf returns the bucket of a latency of us microseconds.
func bucketOf(us uint64) int {
	if us < 64 {
		return int(us)
	}
	us = min(us, 1<<40-1)
	shift := bits.Len64(us) - 6
	return shift*32 + int(us>>shift)
}

// bucketMax returns the highest latency, in microseconds, in bucket i.
func bucketMax(i int) uint64 {
	if i < 64 {
		return uint64(i)
	}
	shift := i/32 - 1
	m := uint64(i - shift*32)
	return (m+1)<<shift - 1
}

// Record counts one latency; a negative one (a clock adjustment) counts as
// zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d.Microseconds()))].Add(1)
	h.n.Add(1)
	h.raiseMax(int64(d))
}

// raiseMax makes the maximum at least d nanoseconds.
func (h *Histogram) raiseMax(d int64) {
	for m := h.max.Load(); d > m && !h.max.CompareAndSwap(m, d); m = h.max.Load() {
	}
}

// Merge adds the latencies recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c != 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.raiseMax(o.max.Load())
}

// Count returns the number of latencies recorded.
func (h *Histogram) Count() int64 { return h.n.Load() }

// Max returns the highest latency recorded.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the latency below which a fraction q of those recorded
// lie: the top of the bucket holding it, so that it is never understated by
// more than a microsecond, and never above the maximum. It returns 0 if
// none was recorded. Read it once recording has stopped.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(n))), 1)
	var seen int64
	for i := range h.counts {
		if seen += h.counts[i].Load(); seen >= rank {
			top := time.Duration(bucketMax(i)+1)*time.Microsecond - 1
			return min(top, h.Max())
		}
	}
	return h.Max()
}
