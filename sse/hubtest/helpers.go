// Helpers of the conformance suite: publishing, reading and comparing events.

package hubtest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginstream/ginstream/sse"
)

// publish publishes an event with the given data, failing the test if
// Publish fails.
func publish(t *testing.T, h sse.Hub, topic string, e sse.Event) sse.Event {
	t.Helper()
	got, err := h.Publish(context.Background(), topic, e)
	if err != nil {
		t.Fatalf("Publish(%q, %+v): %v", topic, e, err)
	}
	return got
}

// publishN publishes n events with data prefix-1, prefix-2, …
func publishN(t *testing.T, h sse.Hub, topic, prefix string, n int) []sse.Event {
	t.Helper()
	events := make([]sse.Event, n)
	for i := range events {
		events[i] = publish(t, h, topic, sse.Event{Data: fmt.Sprintf("%s-%d", prefix, i+1)})
	}
	return events
}

// parseID returns an id as a number, failing the test if it is not a
// decimal one.
func parseID(t *testing.T, id string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		t.Fatalf("id %q is not a decimal number: %v", id, err)
	}
	return n
}

// sameEvents fails the test unless got and want hold the same events.
func sameEvents(t *testing.T, what string, got, want []sse.Event) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\ngot  %s\nwant %s", what, describe(got), describe(want))
	}
}

// describe lists events briefly.
func describe(events []sse.Event) string {
	var b strings.Builder
	for i, e := range events {
		if i > 0 {
			b.WriteString(", ")
		}
		if e.Name != "" {
			b.WriteString(e.Name + ":")
		}
		fmt.Fprintf(&b, "%s#%s", e.Data, e.ID)
	}
	return "[" + b.String() + "]"
}

// probe publishes events until sub receives one, for a subscription that
// gets only events published after it started, and returns what sub
// received up to it.
func probe(t *testing.T, h sse.Hub, topic string, sub *subscriber) []sse.Event {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		p := publish(t, h, topic, sse.Event{Name: "probe", Data: "probe"})
		select {
		case <-sub.done:
			t.Fatalf("subscription ended with %v", sub.err)
		case <-time.After(time.Millisecond):
		}
		got := sub.received()
		if i := slices.IndexFunc(got, func(e sse.Event) bool { return e.Name == "probe" }); i >= 0 {
			return got[:i+1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no probe event received within %v (last published %s)", patience, p.ID)
		}
	}
}

// waitReset waits for sub's first event, which must be a reset, and
// returns it.
func waitReset(t *testing.T, sub *subscriber, why string) sse.Event {
	t.Helper()
	got := sub.waitForCount(t, 1)
	if got[0].Name != sse.EventReset {
		t.Fatalf("%s: first event %s, want a %q event", why, describe(got), sse.EventReset)
	}
	if got[0].Data == "" {
		t.Errorf("%s: the reset event does not say why", why)
	}
	return got[0]
}

// slowSetup subscribes one gated subscriber and two others, publishes n
// events one at a time, each once the other two have received the one
// before (so that they never fall behind), and returns the subscribers,
// the events and the gate's release.
func slowSetup(t *testing.T, h sse.Hub, n int) (slow *subscriber, fast []*subscriber, events []sse.Event, release func()) {
	t.Helper()
	start := publish(t, h, "news", sse.Event{Data: "start"})
	gate := make(chan struct{})
	slow = subscribe(t, h, "news", start.ID, gate)
	fast = []*subscriber{subscribe(t, h, "news", start.ID, nil), subscribe(t, h, "news", start.ID, nil)}
	for i := range n {
		e := publish(t, h, "news", sse.Event{Data: fmt.Sprintf("event-%d", i+1)})
		events = append(events, e)
		for _, f := range fast {
			f.waitForID(t, e.ID)
		}
		if i == 0 {
			slow.waitForID(t, e.ID) // it holds the first event
		}
	}
	return slow, fast, events, sync.OnceFunc(func() { close(gate) })
}
