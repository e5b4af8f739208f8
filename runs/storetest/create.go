// The cases of Create and Get.

package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/ginstream/ginstream/runs"
)

func testRoundTrip(t *testing.T, s runs.Store) {
	want := fullRecord("0123456789abcdef0123456789abcdef")
	if u := unset("Record", reflect.ValueOf(want)); len(u) > 0 {
		t.Fatalf("the suite's record leaves %v unset: set every field, so that the round trip checks it", u)
	}
	create(t, s, want)
	same(t, "the record Get returned", get(t, s, want.ID), want)
}

func testAnyID(t *testing.T, s runs.Store) {
	// "a.b" and "a_2Eb" are one id if '.' is escaped as '_2E' and '_' kept.
	ids := []string{"a.b", "a_2Eb", "run.>", "x y*", "é/€", "a\x00b", "-", "_"}
	for i, id := range ids {
		rec := runningRecord(id, fmt.Sprintf("key %d", i))
		rec.Kind = fmt.Sprintf("kind %d", i)
		create(t, s, rec)
	}
	for i, id := range ids {
		if got := get(t, s, id); got.ID != id || got.Kind != fmt.Sprintf("kind %d", i) {
			t.Fatalf("Get(%q) = the record of %q, %s; want kind %d", id, got.ID, got.Kind, i)
		}
	}
	notFound(t, s, "a", "an id that is a prefix of another")
}

func testIDTaken(t *testing.T, s runs.Store) {
	first := create(t, s, runningRecord("run-1", ""))
	again := runningRecord("run-1", "")
	again.Kind = "other"
	got, created, err := s.Create(t.Context(), again)
	if !errors.Is(err, runs.ErrIDTaken) || created {
		t.Fatalf("Create with an id in use = %+v, created %v, %v; want ErrIDTaken", got, created, err)
	}
	same(t, "the record after ErrIDTaken", get(t, s, "run-1"), first)
}

func testIdempotent(t *testing.T, s runs.Store) {
	first := create(t, s, runningRecord("run-1", "key"))
	got, created, err := s.Create(t.Context(), runningRecord("run-2", "key"))
	if err != nil || created {
		t.Fatalf("Create with a used key: created %v, %v; want the existing record", created, err)
	}
	same(t, "the record Create returned for a used key", got, first)
	notFound(t, s, "run-2", "the run whose key was used")
	create(t, s, runningRecord("run-3", "another key"))
	create(t, s, runningRecord("run-4", "")) // no key: never idempotent
	create(t, s, runningRecord("run-5", ""))
}

func testSameIDAndKey(t *testing.T, s runs.Store) {
	first := create(t, s, runningRecord("run-1", "key"))
	got, created, err := s.Create(t.Context(), runningRecord("run-1", "key"))
	if err != nil || created {
		t.Fatalf("Create repeated: created %v, %v; want the existing record (a retried request)", created, err)
	}
	same(t, "the record Create returned when repeated", got, first)
}

func testIdempotentRace(t *testing.T, s runs.Store) {
	const n = 16
	type result struct {
		rec     runs.Record
		created bool
		err     error
	}
	var (
		results [n]result
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			rec := runningRecord(fmt.Sprintf("run-%d", i), "the key")
			rec.Owner = fmt.Sprintf("instance-%d", i)
			results[i].rec, results[i].created, results[i].err = s.Create(t.Context(), rec)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Fatalf("Create %d: %v", i, r.err)
		case r.created && winner >= 0:
			t.Fatalf("Create %d and %d both created a run with one key", winner, i)
		case r.created:
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d Create calls with a new key created a run", n)
	}
	want := runningRecord(fmt.Sprintf("run-%d", winner), "the key")
	want.Owner = fmt.Sprintf("instance-%d", winner)
	for i, r := range results {
		same(t, fmt.Sprintf("the record Create %d returned", i), r.rec, want)
		if i != winner {
			notFound(t, s, fmt.Sprintf("run-%d", i), "a run that lost the race for its key")
		}
	}
	same(t, "the stored record", get(t, s, want.ID), want)
}

func testGetUnknown(t *testing.T, s runs.Store) {
	notFound(t, s, "0123456789abcdef", "an empty store")
	create(t, s, runningRecord("run-1", "key"))
	notFound(t, s, "run-2", "an id never created")
	notFound(t, s, "key", "an idempotency key")
}
