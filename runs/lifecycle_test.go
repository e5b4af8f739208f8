package runs_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// TestCancel: Cancel ends the run at once, even a producer that has yet to
// notice, and every attached client gets the end event, cancelled.
func TestCancel(t *testing.T) {
	m := &runs.Manager{}
	run, info, url, client := running(t, m)
	clients := []*stream{attach(t, client, url, asSSE, ""), attach(t, client, url, asNDJSON, "")}
	run.send(items("item", 1, 2)...)
	for _, s := range clients {
		s.events(t, 2)
	}
	got, err := m.Cancel(t.Context(), info.ID)
	if err != nil || got.State != runs.Cancelled || got.Ended.IsZero() {
		t.Fatalf("Cancel: %+v, %v; want the run cancelled", got, err)
	}
	for _, s := range clients {
		if end := s.end(t); end.State != runs.Cancelled || end.Items != 2 {
			t.Errorf("%s client: end %+v, want cancelled after 2 items", s.format, end)
		}
	}
	if again, err := m.Cancel(t.Context(), info.ID); err != nil || again.State != runs.Cancelled {
		t.Errorf("Cancel again: %+v, %v; want the run as it ended", again, err)
	}
}

// TestClose: Close cancels every run, its attached clients get the end
// event, and the Manager then refuses to start or attach (503).
func TestClose(t *testing.T) {
	m := newManager(t, &runs.Manager{})
	base, client := serve(t, m)
	var clients []*stream
	var ids []string
	for range 3 {
		info := start(t, m, runs.Spec{}, make(feed).produce)
		ids = append(ids, info.ID)
		url := base + "/runs/" + info.ID
		clients = append(clients, attach(t, client, url, asSSE, ""), attach(t, client, url, asNDJSON, ""))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range clients {
		if end := s.end(t); end.State != runs.Cancelled {
			t.Errorf("%s client: end %+v, want cancelled", s.format, end)
		}
	}
	if _, _, err := m.Start(runs.Spec{}, make(feed).produce); !errors.Is(err, runs.ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
	s, err := tryAttach(client, base+"/runs/"+ids[0], asSSE, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if s.resp.StatusCode != http.StatusServiceUnavailable || s.resp.Header.Get("Retry-After") == "" {
		t.Errorf("attach after Close: %s, Retry-After %q; want 503 with Retry-After", s.resp.Status, s.resp.Header.Get("Retry-After"))
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close again: %v", err)
	}
}

// TestFailure: a run whose producer fails ends failed; its clients are told
// the message of a client error, only the status text of a server error.
func TestFailure(t *testing.T) {
	tests := []struct {
		name    string
		produce func(context.Context, func(sse.Event) error) error
		want    string
	}{
		{"client error", func(context.Context, func(sse.Event) error) error {
			return sink.WithStatus(http.StatusUnprocessableEntity, errors.New("the report's year\nis in the future"))
		}, "the report's year is in the future"},
		{"server error", func(context.Context, func(sse.Event) error) error {
			return errors.New("dial tcp 10.0.0.7:5432: connection refused")
		}, "Internal Server Error"},
		{"panic", func(context.Context, func(sse.Event) error) error { panic("boom") }, "Internal Server Error"},
		{"an end event of its own", func(_ context.Context, yield func(sse.Event) error) error {
			return yield(sse.Event{Name: sse.EventEnd, Data: "forged"})
		}, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, &runs.Manager{})
			base, client := serve(t, m)
			info := start(t, m, runs.Spec{}, tt.produce)
			end := attach(t, client, base+"/runs/"+info.ID, asNDJSON, "").end(t)
			if end.State != runs.Failed || end.Message != tt.want {
				t.Errorf("end %+v, want failed with %q", end, tt.want)
			}
		})
	}
}

// TestAttachRefused: an unknown run is 404, a malformed id to resume from
// 400.
func TestAttachRefused(t *testing.T) {
	m := newManager(t, &runs.Manager{})
	base, client := serve(t, m)
	info := start(t, m, runs.Spec{}, make(feed).produce)
	tests := []struct {
		name   string
		id     string
		format format
		from   string
		want   int
	}{
		{"unknown run", "nope", asSSE, "", http.StatusNotFound},
		{"malformed Last-Event-ID", info.ID, asSSE, "x1", http.StatusBadRequest},
		{"malformed from", info.ID, asNDJSON, "-1", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tryAttach(client, base+"/runs/"+tt.id, tt.format, tt.from)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			if s.resp.StatusCode != tt.want {
				t.Errorf("%s, want %d", s.resp.Status, tt.want)
			}
		})
	}
}
