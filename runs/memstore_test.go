package runs_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ginstream/ginstream/runs"
)

// TestMemStore: Create with a used key returns the existing record (before
// an id in use is checked), Update stores what its change leaves or
// nothing if it fails, and Forget removes the runs ended before its time
// with their keys.
func TestMemStore(t *testing.T) {
	var s runs.MemStore
	ctx := t.Context()
	t0 := time.Now()
	rec := runs.Record{Info: runs.Info{ID: "r1", State: runs.Running, Started: t0, Progress: &runs.Progress{Done: 1}}, IdempotencyKey: "k1"}
	if _, created, err := s.Create(ctx, rec); err != nil || !created {
		t.Fatalf("Create: %v, %v", created, err)
	}
	rec.Progress.Done = 99 // the store keeps its own copy
	if got, created, err := s.Create(ctx, runs.Record{Info: runs.Info{ID: "r1"}, IdempotencyKey: "k1"}); err != nil || created || got.Progress.Done != 1 {
		t.Errorf("Create with the key and id in use: %+v, %v, %v; want the record", got, created, err)
	}
	if _, _, err := s.Create(ctx, runs.Record{Info: runs.Info{ID: "r1"}}); !errors.Is(err, runs.ErrIDTaken) {
		t.Errorf("Create with the id in use: %v, want ErrIDTaken", err)
	}
	if _, err := s.Get(ctx, "r2"); !errors.Is(err, runs.ErrNotFound) {
		t.Errorf("Get unknown: %v, want ErrNotFound", err)
	}
	if _, err := s.Update(ctx, "r2", func(*runs.Record) error { return nil }); !errors.Is(err, runs.ErrNotFound) {
		t.Errorf("Update unknown: %v, want ErrNotFound", err)
	}
	boom := errors.New("boom")
	if _, err := s.Update(ctx, "r1", func(r *runs.Record) error { r.Items = 5; return boom }); err != boom {
		t.Errorf("Update whose change fails: %v, want its error", err)
	}
	got, err := s.Update(ctx, "r1", func(r *runs.Record) error { r.State, r.Ended = runs.Completed, t0; return nil })
	if err != nil || got.Items != 0 || got.State != runs.Completed {
		t.Errorf("Update: %+v, %v; want it completed, with nothing of the failed change", got, err)
	}
	if err := s.Forget(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "r1"); err != nil {
		t.Errorf("Forget of runs ended before their end removed the run: %v", err)
	}
	if err := s.Forget(ctx, t0.Add(time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "r1"); !errors.Is(err, runs.ErrNotFound) {
		t.Errorf("Get after Forget: %v, want ErrNotFound", err)
	}
	if _, created, err := s.Create(ctx, runs.Record{Info: runs.Info{ID: "r3"}, IdempotencyKey: "k1"}); err != nil || !created {
		t.Errorf("Create with a forgotten key: %v, %v; want it created", created, err)
	}
}
