package runs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// TestStartBounds: a start over MaxRunning or MaxPerClient is refused with
// its error, and a slot is free again once a run ends.
func TestStartBounds(t *testing.T) {
	m := newManager(t, &runs.Manager{MaxRunning: 2, MaxPerClient: 1})
	a := start(t, m, runs.Spec{Client: "a"}, make(feed).produce)
	if _, _, err := m.Start(runs.Spec{Client: "a"}, make(feed).produce); !errors.Is(err, runs.ErrClientBusy) {
		t.Errorf("a second run of client a: %v, want ErrClientBusy", err)
	}
	start(t, m, runs.Spec{Client: "b"}, make(feed).produce)
	if _, _, err := m.Start(runs.Spec{Client: "c"}, make(feed).produce); !errors.Is(err, runs.ErrTooMany) {
		t.Errorf("a third run: %v, want ErrTooMany", err)
	}
	if _, err := m.Cancel(t.Context(), a.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(patience)
	for {
		_, _, err := m.Start(runs.Spec{Client: "a"}, make(feed).produce)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a run ended: %v", err)
		}
		time.Sleep(time.Millisecond) // its producer is returning
	}
}

// TestIdempotencyKey: a start with a key seen before returns the run it
// started, created false, and calls nothing; also over a bound.
func TestIdempotencyKey(t *testing.T) {
	m := newManager(t, &runs.Manager{MaxPerClient: 1})
	first := start(t, m, runs.Spec{IdempotencyKey: "k1", Client: "a"}, make(feed).produce)
	var called atomic.Bool
	again, created, err := m.Start(runs.Spec{IdempotencyKey: "k1", Client: "a"}, func(context.Context, func(sse.Event) error) error {
		called.Store(true)
		return nil
	})
	if err != nil || created || again.ID != first.ID {
		t.Errorf("Start with the same key: %+v, created %v, %v; want run %s, not created", again, created, err, first.ID)
	}
	if _, _, err := m.Start(runs.Spec{IdempotencyKey: "k2", Client: "a"}, make(feed).produce); !errors.Is(err, runs.ErrClientBusy) {
		t.Errorf("another key of the same client: %v, want ErrClientBusy", err)
	}
	if _, _, err := m.Start(runs.Spec{ID: first.ID}, make(feed).produce); !errors.Is(err, runs.ErrIDTaken) {
		t.Errorf("an id in use: %v, want ErrIDTaken", err)
	}
	if _, _, err := m.Start(runs.Spec{ID: "a/b"}, make(feed).produce); err == nil {
		t.Errorf("an id with a slash started")
	}
	if called.Load() {
		t.Error("the producer of a repeated key was called")
	}
}

// TestRunBounds: a run that publishes more than MaxItems events, or runs
// for MaxDuration, fails, and its clients get the end event saying so.
func TestRunBounds(t *testing.T) {
	tests := []struct {
		name    string
		m       *runs.Manager
		produce func(context.Context, func(sse.Event) error) error
		items   int
		want    string
	}{
		{"MaxItems", &runs.Manager{MaxItems: 3}, func(ctx context.Context, yield func(sse.Event) error) error {
			if err := yield(runs.ProgressEvent(0, 9)); err != nil {
				return err
			}
			for _, e := range items("item", 1, 9) {
				if err := yield(e); err != nil {
					return err
				}
			}
			return nil
		}, 3, runs.ErrTooManyItems.Error()},
		{"MaxDuration", &runs.Manager{MaxDuration: 100 * time.Millisecond}, func(ctx context.Context, yield func(sse.Event) error) error {
			if err := yield(sse.Event{Data: "item-1"}); err != nil {
				return err
			}
			<-ctx.Done()
			return ctx.Err()
		}, 1, runs.ErrMaxDuration.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, tt.m)
			base, client := serve(t, m)
			info := start(t, m, runs.Spec{}, tt.produce)
			s := attach(t, client, base+"/runs/"+info.ID, asSSE, "")
			got := s.events(t, tt.items)
			if got[0].Event == runs.EventProgress && got[0].ID == "" {
				got = append(got[1:], s.events(t, 1)...) // the latest progress, sent first
			}
			for _, e := range got {
				if e.ID == "" {
					t.Errorf("event %+v of the run without an id", e)
				}
			}
			if end := s.end(t); end.State != runs.Failed || end.Message != tt.want {
				t.Errorf("end %+v, want failed with %q", end, tt.want)
			}
		})
	}
}
