package runs_test

import (
	"context"
	"testing"
	"time"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// lease is the Lease of the instances of these tests: short, so that a
// lapsed lease is seen quickly.
const lease = 300 * time.Millisecond

// cluster returns two instances sharing a store and a hub.
func cluster(t *testing.T) (a, b *runs.Manager, store *runs.MemStore, hub *sse.MemHub) {
	t.Helper()
	store, hub = &runs.MemStore{}, &sse.MemHub{}
	t.Cleanup(func() { hub.Close() })
	a = newManager(t, &runs.Manager{Store: store, Hub: hub, Instance: "a", Lease: lease})
	b = newManager(t, &runs.Manager{Store: store, Hub: hub, Instance: "b", Lease: lease})
	return a, b, store, hub
}

// TestSharedAttachAndCancel: a client attached on one instance to a run of
// another gets its events; a DELETE served by that instance reaches the
// owner at its next renewal, and the client gets the end, cancelled.
func TestSharedAttachAndCancel(t *testing.T) {
	a, b, _, _ := cluster(t)
	base, client := serve(t, b)
	run := make(feed)
	stopped := make(chan struct{})
	info := start(t, a, runs.Spec{}, func(ctx context.Context, yield func(sse.Event) error) error {
		defer close(stopped)
		return run.produce(ctx, yield)
	})
	s := attach(t, client, base+"/runs/"+info.ID, asNDJSON, "")
	run.send(items("item", 1, 2)...)
	s.events(t, 2)
	if got, err := b.Cancel(t.Context(), info.ID); err != nil || got.State != runs.Running {
		t.Fatalf("Cancel on the other instance: %+v, %v; want the run, still running", got, err)
	}
	select {
	case <-stopped:
	case <-time.After(patience):
		t.Fatal("the owner did not stop the producer")
	}
	if end := s.end(t); end.State != runs.Cancelled || end.Items != 2 {
		t.Errorf("end %+v, want cancelled after 2 items", end)
	}
}

// TestLeaseLost: a client attached to a run whose instance stopped (its
// record no longer renewed) gets an end event, failed with ErrLeaseLost,
// within Lease and a poll of the lapse.
func TestLeaseLost(t *testing.T) {
	_, b, store, hub := cluster(t)
	base, client := serve(t, b)
	// A run as a Manager creates it, of an instance that then stops.
	now := time.Now()
	if _, _, err := store.Create(t.Context(), runs.Record{Info: runs.Info{ID: "r1", State: runs.Running, Started: now}, Owner: "dead", Lease: now}); err != nil {
		t.Fatal(err)
	}
	first, _ := hub.Publish(t.Context(), "run-r1", sse.Event{Name: "run"})
	hub.Publish(t.Context(), "run-r1", sse.Event{Data: "item-1"})
	if _, err := store.Update(t.Context(), "r1", func(r *runs.Record) error { r.First = first.ID; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, f := range formats {
		s := attach(t, client, base+"/runs/r1", f, "")
		if e := s.events(t, 1); e[0].Data != "item-1" {
			t.Errorf("%s: event %+v, want item-1", f, e[0])
		}
		end := s.end(t)
		if end.State != runs.Failed || end.Message != runs.ErrLeaseLost.Error() {
			t.Errorf("%s: end %+v, want failed with ErrLeaseLost", f, end)
		}
		if took := time.Since(now); took > lease+lease/3+lease { // and some slack
			t.Errorf("%s: told after %v, want within about %v", f, took, lease+lease/3)
		}
	}
}

// TestSlowOwner: an owner whose run another instance has ended (its lease
// lapsed while it was slow) stops the run's producer at its next renewal,
// and publishes no second end.
func TestSlowOwner(t *testing.T) {
	a, _, store, _ := cluster(t)
	stopped := make(chan error, 1)
	info := start(t, a, runs.Spec{}, func(ctx context.Context, yield func(sse.Event) error) error {
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return nil
	})
	ended := time.Now()
	if _, err := store.Update(t.Context(), info.ID, func(r *runs.Record) error {
		r.State, r.Message, r.Ended = runs.Failed, runs.ErrLeaseLost.Error(), ended
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(patience):
		t.Fatal("the owner did not stop the producer")
	}
	got := waitState(t, a, info.ID, runs.Failed)
	if got.Message != runs.ErrLeaseLost.Error() || !got.Ended.Equal(ended) {
		t.Errorf("Info %+v, want the other instance's end", got)
	}
}
