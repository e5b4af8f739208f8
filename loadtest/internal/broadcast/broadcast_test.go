package broadcast

import (
	"testing"
	"time"
)

// TestScheduleCount checks the events a schedule has due in a span: from
// its start, the start of the span included and its end not.
func TestScheduleCount(t *testing.T) {
	s := &Schedule{StartNs: 1000, IntervalNs: 100} // due at 1000, 1100, 1200, …
	at := func(ns int64) time.Time { return time.Unix(0, ns) }
	tests := []struct {
		name     string
		from, to int64
		want     int64
	}{
		{"before the start", 0, 1000, 0},
		{"from the start", 0, 1001, 1},
		{"edges", 1100, 1300, 2},
		{"between two", 1101, 1199, 0},
		{"a second of them", 1000, 1000 + 100*10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Count(at(tt.from), at(tt.to)); got != tt.want {
				t.Errorf("Count(%d, %d) = %d, want %d", tt.from, tt.to, got, tt.want)
			}
		})
	}
	if got := (*Schedule)(nil).Count(at(0), at(5000)); got != 0 {
		t.Errorf("nil schedule: Count = %d, want 0", got)
	}
}
