package latency

import (
	"testing"
	"time"
)

// TestHistogram checks the latency percentiles against distributions whose
// percentiles are known: each must lie within the bucket resolution (1 µs
// below 64 µs, then 1/32) above the exact value, and never above the
// maximum.
func TestHistogram(t *testing.T) {
	tests := []struct {
		name   string
		values func(i int) time.Duration // the i-th of n values
		n      int
		want   map[float64]time.Duration // exact percentiles
		max    time.Duration
	}{
		{
			name:   "uniform 1..1000 ms",
			values: func(i int) time.Duration { return time.Duration(i+1) * time.Millisecond },
			n:      1000,
			want:   map[float64]time.Duration{0.5: 500 * time.Millisecond, 0.9: 900 * time.Millisecond, 0.99: 990 * time.Millisecond, 1: time.Second},
			max:    time.Second,
		},
		{
			name: "a slow tail",
			values: func(i int) time.Duration {
				if i%100 == 99 {
					return 2 * time.Second
				}
				return 3 * time.Millisecond
			},
			n:    10_000,
			want: map[float64]time.Duration{0.5: 3 * time.Millisecond, 0.98: 3 * time.Millisecond, 0.995: 2 * time.Second},
			max:  2 * time.Second,
		},
		{
			name:   "microseconds, exact",
			values: func(i int) time.Duration { return time.Duration(i%50) * time.Microsecond },
			n:      500,
			want:   map[float64]time.Duration{0.5: 24 * time.Microsecond, 1: 49 * time.Microsecond},
			max:    49 * time.Microsecond,
		},
		{
			name:   "negative counts as zero",
			values: func(int) time.Duration { return -time.Millisecond },
			n:      3,
			want:   map[float64]time.Duration{0.5: 0},
			max:    0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for i := range tt.n {
				h.Record(tt.values(i))
			}
			if h.Count() != int64(tt.n) {
				t.Errorf("count = %d, want %d", h.Count(), tt.n)
			}
			if h.Max() != tt.max {
				t.Errorf("maximum = %v, want %v", h.Max(), tt.max)
			}
			for q, exact := range tt.want {
				got := h.Quantile(q)
				limit := min(exact+exact/32+time.Microsecond, tt.max)
				if got < exact-time.Microsecond || got > limit {
					t.Errorf("quantile(%v) = %v, want %v (up to %v)", q, got, exact, limit)
				}
			}
		})
	}
	var empty Histogram
	if got := empty.Quantile(0.99); got != 0 {
		t.Errorf("quantile of nothing = %v, want 0", got)
	}
}

// TestBuckets checks that the buckets tile the microseconds without gap or
// overlap: each value falls in the bucket whose range holds it.
func TestBuckets(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<20; us++ {
		b := bucketOf(us)
		if b != prev && b != prev+1 {
			t.Fatalf("bucketOf(%d) = %d after %d: a gap", us, b, prev)
		}
		if us > bucketMax(b) || (b > 0 && us <= bucketMax(b-1)) {
			t.Fatalf("bucketOf(%d) = %d, which holds (%d, %d]", us, b, bucketMax(b-1), bucketMax(b))
		}
		prev = b
	}
	if b := bucketOf(1 << 62); b >= buckets {
		t.Fatalf("bucketOf(2^62) = %d, beyond the %d buckets", b, buckets)
	}
}

// TestMerge: a merged histogram answers as one that recorded everything.
func TestMerge(t *testing.T) {
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i) * 37 * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	if a.Count() != all.Count() || a.Max() != all.Max() {
		t.Fatalf("merged: %d latencies, max %v; want %d, %v", a.Count(), a.Max(), all.Count(), all.Max())
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 1} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("quantile(%v) = %v merged, %v recorded at once", q, a.Quantile(q), all.Quantile(q))
		}
	}
}
