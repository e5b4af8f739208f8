// The cases of Update.

package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/ginstream/ginstream/runs"
)

func testUpdate(t *testing.T, s runs.Store) {
	create(t, s, runningRecord("run-1", "key"))
	want := fullRecord("run-1")
	got := update(t, s, "run-1", func(r *runs.Record) { *r = want })
	same(t, "the record Update returned", got, want)
	same(t, "the record Get returned after Update", get(t, s, "run-1"), want)
}

func testUpdateRace(t *testing.T, s runs.Store) {
	const n = 32
	create(t, s, runningRecord("run-1", ""))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		items []int // Items of each record Update returned
		start = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			got, err := s.Update(t.Context(), "run-1", func(r *runs.Record) error {
				r.Items++
				return nil
			})
			if err != nil {
				t.Errorf("Update: %v", err)
				return
			}
			mu.Lock()
			items = append(items, got.Items)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if got := get(t, s, "run-1").Items; got != n {
		t.Fatalf("%d updates incrementing Items left %d", n, got)
	}
	// Each Update stored its own increment: the records they returned
	// count 1 to n, each once.
	slices.Sort(items)
	for i, got := range items {
		if got != i+1 {
			t.Fatalf("the updates returned Items %v, want 1 to %d each once", items, n)
		}
	}
}

func testUpdateFails(t *testing.T, s runs.Store) {
	before := create(t, s, runningRecord("run-1", ""))
	refused := errors.New("refused")
	got, err := s.Update(t.Context(), "run-1", func(r *runs.Record) error {
		r.State = runs.Cancelled
		r.Items = 7
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("Update whose change fails = %+v, %v; want the change's error", got, err)
	}
	same(t, "the record after a failed change", get(t, s, "run-1"), before)
}

func testUpdateUnknown(t *testing.T, s runs.Store) {
	create(t, s, runningRecord("run-1", ""))
	called := false
	got, err := s.Update(t.Context(), "run-2", func(*runs.Record) error {
		called = true
		return nil
	})
	if !errors.Is(err, runs.ErrNotFound) {
		t.Fatalf("Update of an unknown id = %+v, %v; want ErrNotFound", got, err)
	}
	if called {
		t.Fatal("Update of an unknown id called change")
	}
	notFound(t, s, "run-2", "after Update of an unknown id")
}
