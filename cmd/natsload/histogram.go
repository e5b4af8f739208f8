package main

import (
	"math"
	"math/bits"
	"time"
)

// histogram counts latencies in microsecond buckets that are exact below
// 64 µs and then 32 to each power of two (within about 3%). One belongs to
// one goroutine; merge adds them up.
type histogram struct {
	counts [histBuckets]int64
	n      int64
	max    time.Duration
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

// record counts one latency; a negative one counts as zero.
func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d.Microseconds()))]++
	h.n++
	h.max = max(h.max, d)
}

// merge adds o's counts to h's.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a fraction q of those recorded
// lie (the top of its bucket, never above the maximum), or 0 if none was.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := max(int64(math.Ceil(q*float64(h.n))), 1)
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(time.Duration(bucketMax(i)+1)*time.Microsecond-1, h.max)
		}
	}
	return h.max
}

// Latency is a summary of a histogram, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// summary returns h's percentiles.
func (h *histogram) summary() Latency {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return Latency{Count: h.n, P50: ms(h.quantile(0.5)), P99: ms(h.quantile(0.99)), Max: ms(h.max)}
}
