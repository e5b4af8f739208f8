// The cases of slow subscribers and their policies.

package hubtest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/ginstream/ginstream/sse"
)

func testDisconnect(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{Replay: 64, Buffer: 4, Policy: sse.Disconnect})
	slow, fast, events, release := slowSetup(t, h, 20)
	for i, f := range fast {
		sameEvents(t, fmt.Sprintf("fast subscriber %d", i), f.received(), events)
	}
	release()
	err := slow.end(t)
	if !errors.Is(err, sse.ErrSlowSubscriber) {
		t.Fatalf("the slow subscription ended with %v, want ErrSlowSubscriber", err)
	}
	got := slow.received()
	if len(got) >= len(events) || !slices.Equal(got, events[:len(got)]) {
		t.Fatalf("the slow subscriber received %s, want a strict prefix of %s", describe(got), describe(events))
	}
	// The others go on.
	last := publish(t, h, "news", sse.Event{Data: "last"})
	for _, f := range fast {
		f.waitForID(t, last.ID)
	}
}

func testDropOldest(t *testing.T, newHub func(Options) sse.Hub) {
	const buffer = 4
	h := newHub(Options{Replay: 64, Buffer: buffer, Policy: sse.DropOldest})
	slow, fast, events, release := slowSetup(t, h, 20)
	release()
	last := publish(t, h, "news", sse.Event{Data: "last"})
	events = append(events, last)
	for i, f := range fast {
		sameEvents(t, fmt.Sprintf("fast subscriber %d", i), f.waitForID(t, last.ID), events)
	}
	got := slow.waitForID(t, last.ID)
	i := slices.IndexFunc(got, func(e sse.Event) bool { return e.Name == sse.EventMissed })
	if i < 0 {
		t.Fatalf("the slow subscriber received %s, with no %q event", describe(got), sse.EventMissed)
	}
	missed, err := strconv.Atoi(got[i].Data)
	if err != nil || missed <= 0 {
		t.Fatalf("the %q event's data is %q, want a positive number", sse.EventMissed, got[i].Data)
	}
	before, after := got[:i], got[i+1:]
	if len(before)+missed+len(after) != len(events) {
		t.Fatalf("the slow subscriber received %s: %d events, %d missed and %d, want %d in all",
			describe(got), len(before), missed, len(after), len(events))
	}
	sameEvents(t, "before the missed event", before, events[:len(before)])
	sameEvents(t, "after the missed event", after, events[len(before)+missed:])
	if len(after) > buffer+1 {
		t.Errorf("the slow subscriber kept %d events after falling behind, want at most the buffer, %d, and the last", len(after), buffer)
	}
	if !slow.running() {
		t.Fatalf("the slow subscription ended with %v; under DropOldest it goes on", slow.err)
	}
}
