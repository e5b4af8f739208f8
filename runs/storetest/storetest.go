// Package storetest is the conformance test suite of runs.Store: the
// behaviour that every store, in memory or shared through a broker or a
// database, must have, so that a runs.Manager works the same with any of
// them.
//
// A store's tests call [Run] with a function that makes an empty store:
//
//	func TestMemStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) runs.Store {
//			return &runs.MemStore{}
//		})
//	}
//
// The suite checks that Create and Get round-trip every field of a
// runs.Record (times compared with Equal, so a store may keep them as
// JSON), for ids of any bytes; ErrIDTaken for an id in use; that an
// idempotency key already used returns the existing record (also to a
// request repeated with the same id and key, rather than ErrIDTaken, and
// when many callers race with the same key: exactly one creates, every
// other gets its record, and no other record is left); ErrNotFound from Get and
// Update; that Update is atomic under concurrency and stores nothing when
// its change fails; and that Forget removes the runs ended before its time,
// with their idempotency keys, and keeps the others.
package storetest

import (
	"testing"

	"github.com/ginstream/ginstream/runs"
)

// Run runs the suite, one subtest per behaviour, each with an empty store
// from newStore. A store that needs closing should be closed by newStore's
// t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) runs.Store) {
	tests := []struct {
		name string
		test func(t *testing.T, s runs.Store)
	}{
		{"Create then Get round-trips every field", testRoundTrip},
		{"ids of any bytes are distinct", testAnyID},
		{"Create with an id in use: ErrIDTaken", testIDTaken},
		{"Create with a used idempotency key: the existing record", testIdempotent},
		{"Create with the id and key of a record: the record, not ErrIDTaken", testSameIDAndKey},
		{"Create racing with one idempotency key: one record", testIdempotentRace},
		{"Get of an unknown id: ErrNotFound", testGetUnknown},
		{"Update stores the change and returns it", testUpdate},
		{"Update racing: every change applied", testUpdateRace},
		{"Update whose change fails stores nothing", testUpdateFails},
		{"Update of an unknown id: ErrNotFound", testUpdateUnknown},
		{"Forget removes runs ended before its time", testForget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.test(t, newStore(t))
		})
	}
}
