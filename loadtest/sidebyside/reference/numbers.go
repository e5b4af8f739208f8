//go:build ignore

package main

import (
	"net/http"
	"strconv"
	"time"
)

// numbers writes the lines 1 to count, interval milliseconds apart; the
// parameters default to the demo's (handlers.Numbers): 100 and 20.
func (s *server) numbers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	count, err := intParam(q.Get("count"), 100)
	if err != nil || count < 1 {
		http.Error(w, "count: a positive integer", http.StatusBadRequest)
		return
	}
	interval, err := intParam(q.Get("interval"), 20)
	if err != nil || interval < 0 {
		http.Error(w, "interval: milliseconds, not negative", http.StatusBadRequest)
		return
	}
	pace := time.Duration(interval) * time.Millisecond
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	bw, sw := s.buffered(w)
	var tick <-chan time.Time
	if pace > 0 {
		t := time.NewTicker(pace)
		defer t.Stop()
		tick = t.C
	}
	for i := 1; i <= count; i++ {
		if i > 1 && pace > 0 {
			if flush(bw, sw) != nil {
				abort()
			}
			select {
			case <-tick:
			case <-r.Context().Done():
				abort()
			}
		}
		line := strconv.AppendInt(bw.AvailableBuffer(), int64(i), 10)
		if _, err := bw.Write(append(line, '\n')); err != nil {
			abort()
		}
	}
	if bw.Flush() != nil {
		abort()
	}
}

// intParam returns the integer value of a query parameter, or def if it is
// absent.
func intParam(value string, def int) (int, error) {
	if value == "" {
		return def, nil
	}
	return strconv.Atoi(value)
}
