package handlers_test

import (
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
	srv := httptest.NewServer(r)
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()
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
		// Only the status and a 400's body matter: the client leaves a
		// stream that was admitted.
		resp, err := srv.Client().Get(srv.URL + "/n?" + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.status {
			resp.Body.Close()
			t.Errorf("%s: %d, want %d", tt.query, resp.StatusCode, tt.status)
			continue
		}
		if tt.status != http.StatusBadRequest {
			resp.Body.Close()
			continue
		}
		var pe handlers.ParamError
		err = json.NewDecoder(resp.Body).Decode(&pe)
		resp.Body.Close()
		if err != nil || pe.Param != "count" || pe.Max != tt.max || pe.Msg == "" {
			t.Errorf("%s: %+v (%v); want a ParamError for count, at most %d", tt.query, pe, err, tt.max)
		}
	}
}
