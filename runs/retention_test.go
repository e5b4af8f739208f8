package runs_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// TestRetention: an ended run is kept for Retention, then answered ErrGone
// for another Retention but at least an hour, then forgotten (ErrNotFound)
// with its idempotency key; on the fake clock.
func TestRetention(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const retention = 10 * time.Minute
		m := &runs.Manager{Retention: retention, Logger: quiet}
		defer m.Close()
		done := func(context.Context, func(sse.Event) error) error { return nil }
		info, _, err := m.Start(runs.Spec{IdempotencyKey: "k"}, done)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got, err := m.Get(t.Context(), info.ID); err != nil || got.State != runs.Completed {
			t.Fatalf("Get: %+v, %v; want it completed", got, err)
		}
		time.Sleep(retention - time.Second)
		if _, err := m.Get(t.Context(), info.ID); err != nil {
			t.Errorf("Get within Retention: %v", err)
		}
		time.Sleep(2 * time.Second)
		if _, err := m.Get(t.Context(), info.ID); !errors.Is(err, runs.ErrGone) {
			t.Errorf("Get after Retention: %v, want ErrGone", err)
		}
		if again, created, err := m.Start(runs.Spec{IdempotencyKey: "k"}, done); err != nil || created || again.ID != info.ID {
			t.Errorf("Start with its key after Retention: %+v, created %v, %v; want the run", again, created, err)
		}
		time.Sleep(time.Hour - 2*time.Minute)
		if _, err := m.Get(t.Context(), info.ID); !errors.Is(err, runs.ErrGone) {
			t.Errorf("Get within the hour after Retention: %v, want ErrGone", err)
		}
		time.Sleep(4 * time.Minute) // and the keeper's minute
		if _, err := m.Get(t.Context(), info.ID); !errors.Is(err, runs.ErrNotFound) {
			t.Errorf("Get an hour after Retention: %v, want ErrNotFound", err)
		}
		if again, created, err := m.Start(runs.Spec{IdempotencyKey: "k"}, done); err != nil || !created || again.ID == info.ID {
			t.Errorf("Start with its key once forgotten: %+v, created %v, %v; want a new run", again, created, err)
		}
	})
}
