// The cases of Forget.

package storetest

import (
	"testing"
	"time"

	"github.com/ginstream/ginstream/runs"
)

func testForget(t *testing.T, s runs.Store) {
	if err := s.Forget(t.Context(), started); err != nil {
		t.Fatalf("Forget of an empty store: %v", err)
	}
	cutoff := started.Add(time.Hour)
	create(t, s, runningRecord("running", "key running"))
	create(t, s, runningRecord("old", "key old"))
	end(t, s, "old", cutoff.Add(-time.Nanosecond))
	create(t, s, runningRecord("at", "key at"))
	end(t, s, "at", cutoff)
	create(t, s, runningRecord("later", "key later"))
	end(t, s, "later", cutoff.Add(time.Minute))
	kept := map[string]runs.Record{}
	for _, id := range []string{"running", "at", "later"} {
		kept[id] = get(t, s, id)
	}

	if err := s.Forget(t.Context(), cutoff); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	notFound(t, s, "old", "a run ended before Forget's time")
	for id, want := range kept {
		same(t, "the record of "+id+" after Forget", get(t, s, id), want)
	}
	// The forgotten run's key is free; the others' are not.
	create(t, s, runningRecord("new", "key old"))
	for id, want := range kept {
		got, created, err := s.Create(t.Context(), runningRecord(id+"-again", want.IdempotencyKey))
		if err != nil || created {
			t.Fatalf("Create with the key of %s after Forget: created %v, %v; want its record", id, created, err)
		}
		same(t, "the record of "+id+"'s key after Forget", got, want)
	}
}
