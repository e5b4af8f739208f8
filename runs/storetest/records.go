// Helpers of the conformance suite: records with every field set, and
// their comparison.

package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/runs"
)

// started is the start of the suite's runs: nanoseconds and a zone other
// than UTC, which a store may drop (times are compared with Equal).
var started = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

// fullRecord returns a record of an ended run with every field set, so
// that a store that loses one fails the round trip.
func fullRecord(id string) runs.Record {
	return runs.Record{
		Info: runs.Info{
			ID:       id,
			Kind:     "report",
			State:    runs.Failed,
			Message:  "half way: \"quoted\", é\nsecond line",
			Progress: &runs.Progress{Done: 5, Total: 9},
			Items:    42,
			Started:  started,
			Ended:    started.Add(90*time.Minute + time.Nanosecond),
		},
		First:           "1741061167123456",
		Owner:           "instance-a",
		Lease:           started.Add(time.Second),
		CancelRequested: true,
		IdempotencyKey:  "key of " + id,
		Client:          "client-7",
	}
}

// runningRecord returns the record of a run just started, as a Manager
// creates it.
func runningRecord(id, key string) runs.Record {
	return runs.Record{
		Info:           runs.Info{ID: id, Kind: "count", State: runs.Running, Started: started},
		Owner:          "instance-a",
		Lease:          started,
		IdempotencyKey: key,
	}
}

// create creates rec, failing the test unless Create creates it.
func create(t *testing.T, s runs.Store, rec runs.Record) runs.Record {
	t.Helper()
	got, created, err := s.Create(t.Context(), rec)
	if err != nil || !created {
		t.Fatalf("Create(%q) = created %v, %v; want it created", rec.ID, created, err)
	}
	same(t, "the record Create returned", got, rec)
	return got
}

// get returns the record of id, failing the test if Get fails.
func get(t *testing.T, s runs.Store, id string) runs.Record {
	t.Helper()
	got, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return got
}

// notFound fails the test unless Get(id) reports ErrNotFound.
func notFound(t *testing.T, s runs.Store, id, why string) {
	t.Helper()
	if got, err := s.Get(t.Context(), id); !errors.Is(err, runs.ErrNotFound) {
		t.Fatalf("%s: Get(%q) = %+v, %v; want ErrNotFound", why, id, got, err)
	}
}

// update applies change to the record of id, failing the test if Update
// fails.
func update(t *testing.T, s runs.Store, id string, change func(*runs.Record)) runs.Record {
	t.Helper()
	got, err := s.Update(t.Context(), id, func(r *runs.Record) error {
		change(r)
		return nil
	})
	if err != nil {
		t.Fatalf("Update(%q): %v", id, err)
	}
	return got
}

// end marks the record of id ended at the given time.
func end(t *testing.T, s runs.Store, id string, at time.Time) {
	t.Helper()
	update(t, s, id, func(r *runs.Record) {
		r.State = runs.Completed
		r.Ended = at
	})
}

// same fails the test unless got and want are the same record.
func same(t *testing.T, what string, got, want runs.Record) {
	t.Helper()
	if d := diff("Record", reflect.ValueOf(got), reflect.ValueOf(want)); len(d) > 0 {
		t.Fatalf("%s differs:\n%s", what, strings.Join(d, "\n"))
	}
}

// diff lists the fields in which got and want differ, comparing times
// with Equal and what pointers point to.
func diff(path string, got, want reflect.Value) []string {
	switch {
	case got.Type() == reflect.TypeFor[time.Time]():
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Equal(w) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, g, w)}
		}
		return nil
	case got.Kind() == reflect.Struct:
		var d []string
		for i := range got.NumField() {
			d = append(d, diff(path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i))...)
		}
		return d
	case got.Kind() == reflect.Pointer && !got.IsNil() && !want.IsNil():
		return diff("*"+path, got.Elem(), want.Elem())
	case !reflect.DeepEqual(got.Interface(), want.Interface()):
		return []string{fmt.Sprintf("%s: got %#v, want %#v", path, got.Interface(), want.Interface())}
	}
	return nil
}

// unset lists the fields of v that hold their zero value.
func unset(path string, v reflect.Value) []string {
	switch {
	case v.Type() == reflect.TypeFor[time.Time]():
	case v.Kind() == reflect.Struct:
		var u []string
		for i := range v.NumField() {
			u = append(u, unset(path+"."+v.Type().Field(i).Name, v.Field(i))...)
		}
		return u
	case v.Kind() == reflect.Pointer && !v.IsNil():
		return unset("*"+path, v.Elem())
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}
