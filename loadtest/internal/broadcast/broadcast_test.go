package broadcast

import (
	"io"
	"net/http"
	"net/http/httptest"
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

// TestInGinRouter checks that -gin's router serves the handler at its
// path, to GET only, and nothing else.
func TestInGinRouter(t *testing.T) {
	h := inGinRouter("/events", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: "+r.URL.RawQuery+"\n\n")
	}))
	tests := []struct {
		method, target string
		status         int
		body           string
	}{
		{"GET", "/events?topic=a", http.StatusOK, "data: topic=a\n\n"},
		{"GET", "/other", http.StatusNotFound, ""},
		{"POST", "/events", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.status || (tt.body != "" && rec.Body.String() != tt.body) {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.target, rec.Code, rec.Body.String(), tt.status, tt.body)
		}
	}
}
