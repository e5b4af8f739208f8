package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts latencies in microsecond buckets that are exact below
// 64 µs and then 32 to each power of two (within about 3%), up to about
// 12 days. It is safe for concurrent use: every subscriber records into
// one histogram, with an atomic add per delivery and no allocation.
type histogram struct {
	counts [histBuckets]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64 // nanoseconds
}

// histBuckets covers latencies up to 2^40 µs.
const histBuckets = 35*32 + 32

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

// record counts one latency; a negative one (clock adjustments) counts as
// zero.
func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d.Microseconds()))].Add(1)
	h.n.Add(1)
	for m := h.max.Load(); int64(d) > m && !h.max.CompareAndSwap(m, int64(d)); m = h.max.Load() {
	}
}

// count returns the number of latencies recorded.
func (h *histogram) count() int64 { return h.n.Load() }

// maximum returns the highest latency recorded.
func (h *histogram) maximum() time.Duration { return time.Duration(h.max.Load()) }

// quantile returns the latency below which a fraction q of those recorded
// lie: the top of the bucket holding it, so that it is never understated
// by more than a microsecond, and never above the maximum. It returns 0
// if none was recorded. It must not run concurrently with record.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(n))), 1)
	var seen int64
	for i := range h.counts {
		if seen += h.counts[i].Load(); seen >= rank {
			top := time.Duration(bucketMax(i)+1)*time.Microsecond - 1
			return min(top, h.maximum())
		}
	}
	return h.maximum()
}
