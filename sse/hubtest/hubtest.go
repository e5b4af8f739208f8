// Package hubtest is the conformance test suite of sse.Hub: the behaviour
// that every hub, in memory or backed by a message broker, must share, so
// that the same handlers and pages work with any of them.
//
// A hub's tests call [Run] with a function that makes a hub:
//
//	func TestMemHub(t *testing.T) {
//		hubtest.Run(t, func(t *testing.T, o hubtest.Options) sse.Hub {
//			return &sse.MemHub{Replay: o.Replay, Buffer: o.Buffer, Policy: o.Policy}
//		})
//	}
//
// The suite checks delivery in order with increasing decimal ids, resume
// from a Last-Event-ID without a gap or a duplicate (also while events are
// being published), the reset event for an id too old or unknown, that a
// malformed id counts as none, both slow-subscriber policies while other
// subscribers receive every event, many subscribers, separate topics,
// cancellation and Close. It does not check the age limit of the replay
// buffer, which needs control of the hub's clock: test it with
// testing/synctest where the hub allows.
package hubtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ginstream/ginstream/sse"
)

// Options configure a hub for one test; a hub maps them onto its own
// configuration. A zero field asks for the hub's default.
type Options struct {
	Replay int        // events a topic keeps for replay
	Buffer int        // events a subscriber may fall behind
	Policy sse.Policy // what happens to a slow subscriber
}

// Run runs the suite, one subtest per behaviour, each with new hubs from
// newHub. It closes every hub at the end of its subtest.
func Run(t *testing.T, newHub func(t *testing.T, o Options) sse.Hub) {
	tests := []struct {
		name string
		test func(t *testing.T, newHub func(Options) sse.Hub)
	}{
		{"delivers in order with increasing ids", testOrder},
		{"Publish replaces the event's id", testPublishID},
		{"no Last-Event-ID: only new events", testLiveOnly},
		{"resume: missed events, then live ones", testResume},
		{"resume while publishing: no gap, no duplicate", testResumeRace},
		{"resume: the replay does not count against the buffer", testReplayNotBuffered},
		{"resume: the whole replay, while one more is published", testResumeWholeReplay},
		{"resume from an id too old: reset", testTooOld},
		{"resume from an unknown id: reset", testUnknownID},
		{"malformed Last-Event-ID counts as none", testMalformedID},
		{"slow subscriber: Disconnect", testDisconnect},
		{"slow subscriber: DropOldest", testDropOldest},
		{"many subscribers receive every event", testManySubscribers},
		{"concurrent publishers", testConcurrentPublishers},
		{"topics are separate", testTopics},
		{"Publish fails with its context", testPublishCancelled},
		{"Publish refuses an unframeable event", testPublishUnframeable},
		{"Subscribe ends with its context or yield", testSubscribeEnds},
		{"Close ends every subscription", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.test(t, func(o Options) sse.Hub {
				h := newHub(t, o)
				t.Cleanup(func() { _ = h.Close() })
				return h
			})
		})
	}
}

func testOrder(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	start := publish(t, h, "news", sse.Event{Data: "start"})
	sub := subscribe(t, h, "news", start.ID, nil)
	var want []sse.Event
	for i := range 50 {
		e := sse.Event{Data: fmt.Sprintf("event %d\nsecond line", i)}
		if i%3 == 0 {
			e.Name = "tick"
		}
		if i%10 == 0 {
			e.Retry = time.Duration(i+1) * time.Second
		}
		if i == 7 {
			e.Comment = "a comment"
		}
		got := publish(t, h, "news", e)
		e.ID = got.ID
		if got != e {
			t.Fatalf("Publish returned %+v, want %+v with its id", got, e)
		}
		want = append(want, got)
	}
	got := sub.waitForID(t, want[len(want)-1].ID)
	sameEvents(t, "delivered", got, want)
	prev := parseID(t, start.ID)
	for _, e := range got {
		id := parseID(t, e.ID)
		if id <= prev {
			t.Fatalf("id %d follows %d: ids must increase", id, prev)
		}
		prev = id
	}
	// Each frame is the event's encoding.
	sub.mu.Lock()
	frames := slices.Clone(sub.frames)
	sub.mu.Unlock()
	for _, f := range frames {
		want, err := sse.EventEncoder{}.Append(nil, f.Event())
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := (sse.FrameEncoder{}).Append(nil, f); string(got) != string(want) {
			t.Fatalf("frame of %+v is %q, want %q", f.Event(), got, want)
		}
	}
}

func testPublishID(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	got := publish(t, h, "news", sse.Event{ID: "mine", Data: "x"})
	if got.ID == "mine" || got.ID == "" {
		t.Fatalf("Publish kept the id %q; the hub assigns ids", got.ID)
	}
	parseID(t, got.ID)
}

func testLiveOnly(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	publishN(t, h, "news", "old", 3)
	sub := subscribe(t, h, "news", "", nil)
	got := probe(t, h, "news", sub)
	if got[0].Name != "probe" {
		t.Fatalf("without Last-Event-ID, received %s before any new event", describe(got))
	}
}

func testManySubscribers(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{Replay: 256, Buffer: 256})
	start := publish(t, h, "news", sse.Event{Data: "start"})
	subs := make([]*subscriber, 200)
	for i := range subs {
		subs[i] = subscribe(t, h, "news", start.ID, nil)
	}
	events := publishN(t, h, "news", "event", 100)
	for i, s := range subs {
		sameEvents(t, fmt.Sprintf("subscriber %d", i), s.waitForID(t, events[99].ID), events)
	}
}

func testConcurrentPublishers(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{Replay: 512, Buffer: 512})
	start := publish(t, h, "news", sse.Event{Data: "start"})
	sub := subscribe(t, h, "news", start.ID, nil)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		published = map[string]sse.Event{}
	)
	for p := range 4 {
		wg.Go(func() {
			for i := range 50 {
				e, err := h.Publish(context.Background(), "news", sse.Event{Data: fmt.Sprintf("p%d-%d", p, i)})
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				mu.Lock()
				published[e.ID] = e
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(published) != 200 {
		t.Fatalf("200 events published with %d distinct ids", len(published))
	}
	got := sub.waitForCount(t, 200)
	prev := uint64(0)
	for _, e := range got {
		if published[e.ID] != e {
			t.Fatalf("received %+v, which was not published", e)
		}
		if id := parseID(t, e.ID); id <= prev {
			t.Fatalf("id %d received after %d", id, prev)
		} else {
			prev = id
		}
	}
}

func testTopics(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	a0 := publish(t, h, "a", sse.Event{Data: "a0"})
	b0 := publish(t, h, "b", sse.Event{Data: "b0"})
	subA := subscribe(t, h, "a", a0.ID, nil)
	subB := subscribe(t, h, "b", b0.ID, nil)
	var wantA, wantB []sse.Event
	for i := range 5 {
		wantA = append(wantA, publish(t, h, "a", sse.Event{Data: fmt.Sprintf("a%d", i+1)}))
		wantB = append(wantB, publish(t, h, "b", sse.Event{Data: fmt.Sprintf("b%d", i+1)}))
	}
	sameEvents(t, "topic a", subA.waitForID(t, wantA[4].ID), wantA)
	sameEvents(t, "topic b", subB.waitForID(t, wantB[4].ID), wantB)
}
