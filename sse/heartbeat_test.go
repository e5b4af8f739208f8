package sse_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// write is one write to a response, and when it happened.
type write struct {
	At   time.Duration // since the recorder was made
	Data string
}

// timedRecorder is a response writer that records when each write
// happens, on the fake clock of a synctest bubble.
type timedRecorder struct {
	*httptest.ResponseRecorder
	start time.Time

	mu     sync.Mutex
	writes []write
}

func newTimedRecorder() *timedRecorder {
	return &timedRecorder{ResponseRecorder: httptest.NewRecorder(), start: time.Now()}
}

func (r *timedRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, write{time.Since(r.start), string(p)})
	return r.ResponseRecorder.Write(p)
}

func (r *timedRecorder) written() []write {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.writes)
}

// streamRecorded runs w.Stream for a request to rec with the given
// context, in the background, and returns a function that waits for its
// report.
func streamRecorded(ctx context.Context, w *sse.EventWriter, rec http.ResponseWriter, producers ...generator.Func[sse.Event]) func() sink.Report {
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequestWithContext(ctx, http.MethodGet, "/events", nil)
	done := make(chan sink.Report, 1)
	go func() { done <- w.Stream(c, producers...) }()
	return func() sink.Report { return <-done }
}

// TestWriterHeartbeat: a heartbeat comment follows every interval of
// silence, counted from the stream's last frame, on the fake clock.
func TestWriterHeartbeat(t *testing.T) {
	const hb = ":heartbeat\n"
	const end = "event: end\ndata: completed\n\n" // the producers finished
	tests := []struct {
		name     string
		interval time.Duration
		want     []write
	}{
		{"default 15 s", 0, []write{
			{0, "retry: 3000\n\n"}, {10 * time.Second, "data: e1\n\n"}, {25 * time.Second, hb},
			{35 * time.Second, "data: e2\n\n"}, {50 * time.Second, hb}, {65 * time.Second, hb}, {70 * time.Second, end},
		}},
		{"4 s", 4 * time.Second, []write{
			{0, "retry: 3000\n\n"}, {4 * time.Second, hb}, {8 * time.Second, hb},
			{10 * time.Second, "data: e1\n\n"}, {14 * time.Second, hb}, {18 * time.Second, hb},
			{22 * time.Second, hb}, {26 * time.Second, hb}, {30 * time.Second, hb}, {34 * time.Second, hb},
			{35 * time.Second, "data: e2\n\n"}, {39 * time.Second, hb}, {43 * time.Second, hb},
			{47 * time.Second, hb}, {51 * time.Second, hb}, {55 * time.Second, hb}, {59 * time.Second, hb},
			{63 * time.Second, hb}, {67 * time.Second, hb}, {70 * time.Second, end},
		}},
		{"off", -1, []write{
			{0, "retry: 3000\n\n"}, {10 * time.Second, "data: e1\n\n"}, {35 * time.Second, "data: e2\n\n"}, {70 * time.Second, end},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Events at 10 s and 35 s; the end at 70 s.
				events := func(_ context.Context, yield func(sse.Event) error) error {
					time.Sleep(10 * time.Second)
					if err := yield(sse.Event{Data: "e1"}); err != nil {
						return err
					}
					time.Sleep(25 * time.Second)
					if err := yield(sse.Event{Data: "e2"}); err != nil {
						return err
					}
					time.Sleep(35 * time.Second)
					return nil
				}
				rec := newTimedRecorder()
				w := &sse.EventWriter{Heartbeat: tt.interval}
				if r := streamRecorded(t.Context(), w, rec, events)(); r.Outcome != sink.Completed {
					t.Errorf("outcome %v (%v), want completed", r.Outcome, r.Err)
				}
				if got := rec.written(); !slices.Equal(got, tt.want) {
					t.Errorf("writes:\n got %q\nwant %q", got, tt.want)
				}
			})
		})
	}
}
