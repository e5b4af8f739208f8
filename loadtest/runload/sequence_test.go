package main

import (
	"errors"
	"testing"
)

// TestSequence: what a client takes for a whole, ordered stream.
func TestSequence(t *testing.T) {
	const completed = `{"id":"x","state":"completed","items":3}`
	num := func(d string) event { return event{eventNumber, d} }
	tick := func(d string) event { return event{eventTick, d} }
	for _, tc := range []struct {
		name   string
		seq    sequence
		events []event
		ok     bool // no error, and complete
	}{
		{"a whole run", runSequence(3), []event{{}, num("1"), num("2"), num("3"), {eventEnd, completed}}, true},
		{"a number skipped", runSequence(3), []event{num("1"), num("3")}, false},
		{"a number twice", runSequence(3), []event{num("1"), num("1")}, false},
		{"from 2", runSequence(3), []event{num("2")}, false},
		{"past the last", runSequence(1), []event{num("1"), num("2")}, false},
		{"the end too soon", runSequence(3), []event{num("1"), {eventEnd, completed}}, false},
		{"a failed run", runSequence(1), []event{num("1"), {eventEnd, `{"state":"failed"}`}}, false},
		{"no end", runSequence(1), []event{num("1")}, false},
		{"another event", runSequence(1), []event{{"progress", "{}"}}, false},
		{"ticks from any", tickSequence(), []event{tick(`{"n":7}`), {}, tick(`{"n":8}`)}, true},
		{"a tick missed", tickSequence(), []event{tick(`{"n":7}`), tick(`{"n":9}`)}, false},
		{"no tick", tickSequence(), []event{{}}, false},
		{"an end on a topic", tickSequence(), []event{tick(`{"n":1}`), {eventEnd, completed}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq := tc.seq
			var err error
			for _, ev := range tc.events {
				if _, err = seq.see(ev); err != nil {
					break
				}
			}
			if errors.Is(err, errStop) {
				err = nil
			}
			err = errors.Join(err, seq.complete())
			if ok := err == nil; ok != tc.ok {
				t.Errorf("ok = %v (%v), want %v", ok, err, tc.ok)
			}
		})
	}
}
