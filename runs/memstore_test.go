package runs_test

import (
	"testing"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/runs/storetest"
)

// TestMemStore runs the conformance suite of a Store against MemStore.
func TestMemStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) runs.Store { return new(runs.MemStore) })
}

// TestMemStoreCopies: the store keeps its own copy of a record, so that a
// caller changing the record it gave or got changes nothing stored.
func TestMemStoreCopies(t *testing.T) {
	var s runs.MemStore
	ctx := t.Context()
	rec := runs.Record{Info: runs.Info{ID: "r1", State: runs.Running, Progress: &runs.Progress{Done: 1}}}
	if _, _, err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.Progress.Done = 99
	got, err := s.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	got.Progress.Done = 98
	if again, err := s.Get(ctx, "r1"); err != nil || again.Progress.Done != 1 {
		t.Errorf("stored progress %+v, %v; want Done 1 whatever callers did to their copies", again.Progress, err)
	}
}
