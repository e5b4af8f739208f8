package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/sink"
)

// TestNumbersBoundedByMaxDuration: a stream that would outlast
// Config.MaxDuration is refused with 400 before it starts, naming count and
// the most it may be at that interval; one that fits is served.
func TestNumbersBoundedByMaxDuration(t *testing.T) {
	r := gin.New()
	r.GET("/n", handlers.Numbers{Config: sink.Config{MaxDuration: time.Minute}}.Handler())
	for _, tt := range []struct {
		query  string
		status int
		max    int64
	}{
		{"count=1000000000&interval=60000", http.StatusBadRequest, 2},
		{"count=62&interval=1000", http.StatusBadRequest, 61},
		{"count=61&interval=1000", http.StatusOK, 0},
		{"count=1000000&interval=0", http.StatusOK, 0},
	} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/n?"+tt.query, nil)
		if tt.status == http.StatusOK {
			// Only the status matters: leave before the numbers are sent.
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			req = req.WithContext(ctx)
		}
		r.ServeHTTP(w, req)
		if w.Code != tt.status {
			t.Errorf("%s: %d, want %d (%s)", tt.query, w.Code, tt.status, w.Body)
			continue
		}
		if tt.status != http.StatusBadRequest {
			continue
		}
		var pe handlers.ParamError
		if err := json.Unmarshal(w.Body.Bytes(), &pe); err != nil || pe.Param != "count" || pe.Max != tt.max || pe.Msg == "" {
			t.Errorf("%s: body %s (%v); want a ParamError for count, at most %d", tt.query, w.Body, err, tt.max)
		}
	}
}
