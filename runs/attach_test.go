package runs_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ginstream/ginstream/runs"
)

// TestAttachResume: a client that detaches mid-run and resumes after the
// last event it received (Last-Event-ID, ?from=) gets every event exactly
// once, in order, and then the end event.
func TestAttachResume(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			m := &runs.Manager{}
			run, info, url, client := running(t, m)

			s := attach(t, client, url, f, "")
			run.send(items("item", 1, 3)...)
			got := s.events(t, 3)
			s.close()
			run.send(items("item", 4, 2)...)
			s = attach(t, client, url, f, got[2].ID)
			got = append(got, s.events(t, 2)...)
			run.send(items("item", 6, 1)...)
			got = append(got, s.events(t, 1)...)
			close(run)
			if end := s.end(t); end.State != runs.Completed || end.Items != 6 || end.ID != info.ID {
				t.Errorf("end %+v, want run %s completed with 6 items", end, info.ID)
			}
			want := []string{"item-1", "item-2", "item-3", "item-4", "item-5", "item-6"}
			if !slices.Equal(data(got), want) {
				t.Errorf("received %q, want %q", data(got), want)
			}
			for i := 1; i < len(got); i++ {
				if !before(got[i-1].ID, got[i].ID) {
					t.Errorf("ids %q then %q: not increasing", got[i-1].ID, got[i].ID)
				}
			}
		})
	}
}

// TestTwoClients: clients attached at once, as SSE and as NDJSON, receive
// the same events, with the same ids, and the same end.
func TestTwoClients(t *testing.T) {
	run, _, url, client := running(t, &runs.Manager{})
	a := attach(t, client, url, asSSE, "")
	b := attach(t, client, url, asNDJSON, "")
	run.send(items("item", 1, 5)...)
	run.send(runs.ProgressEvent(5, 5))
	close(run)
	got := a.events(t, 6)
	if other := b.events(t, 6); !slices.Equal(got, other) {
		t.Errorf("SSE client received %+v,\nNDJSON client %+v", got, other)
	}
	if ea, eb := a.end(t), b.end(t); !reflect.DeepEqual(ea, eb) || ea.State != runs.Completed {
		t.Errorf("end events %+v and %+v, want the same, completed", ea, eb)
	}
}

// TestLateClient: a client that attaches after the run has ended gets
// every event from the first, and the end.
func TestLateClient(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			m := &runs.Manager{}
			run, info, url, client := running(t, m)
			run.send(items("item", 1, 4)...)
			close(run)
			waitState(t, m, info.ID, runs.Completed)
			s := attach(t, client, url, f, "")
			if got, want := data(s.events(t, 4)), []string{"item-1", "item-2", "item-3", "item-4"}; !slices.Equal(got, want) {
				t.Errorf("late client received %q, want %q", got, want)
			}
			if vary := s.resp.Header.Get("Vary"); vary != "Accept" {
				t.Errorf("Vary %q, want Accept: the answer depends on it", vary)
			}
			end := s.end(t)
			if end.State != runs.Completed || end.Ended.IsZero() {
				t.Errorf("end %+v, want completed", end)
			}
			// Resuming after the end event gets the end event again.
			last := attach(t, client, url, f, s.lastID)
			if again := last.end(t); !reflect.DeepEqual(again, end) {
				t.Errorf("end again %+v, want %+v", again, end)
			}
		})
	}
}

// TestProgress: a client attaching gets the run's latest progress first,
// without an id, then the run's events, progress events included.
func TestProgress(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			m := &runs.Manager{}
			run, info, url, client := running(t, m)
			run.send(runs.ProgressEvent(1, 10), items("item", 1, 1)[0], runs.ProgressEvent(2, 10))
			for deadline := time.Now().Add(patience); ; time.Sleep(time.Millisecond) { // published
				if now, _ := m.Get(t.Context(), info.ID); now.Progress != nil && now.Progress.Done == 2 || time.Now().After(deadline) {
					break
				}
			}
			s := attach(t, client, url, f, "")
			got := s.events(t, 4)
			if first := got[0]; first.ID != "" || first.Event != runs.EventProgress || first.Data != `{"done":2,"total":10}` {
				t.Errorf("first event %+v, want the latest progress without an id", first)
			}
			want := []event{{Event: runs.EventProgress, Data: `{"done":1,"total":10}`}, {Data: "item-1"}, {Event: runs.EventProgress, Data: `{"done":2,"total":10}`}}
			for i, e := range got[1:] {
				if e.ID == "" || e.Event != want[i].Event || e.Data != want[i].Data {
					t.Errorf("event %d: %+v, want %+v with an id", i+1, e, want[i])
				}
			}
			now, err := m.Get(t.Context(), info.ID)
			if err != nil || now.Progress == nil || *now.Progress != (runs.Progress{Done: 2, Total: 10}) || now.Items != 1 {
				t.Errorf("Get: %+v, %v; want progress 2 of 10 and 1 item", now, err)
			}
			close(run)
		})
	}
}
