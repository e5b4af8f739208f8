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
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
		want, err := sse.Encoder{}.Append(nil, f.Event())
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

func testResume(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	before := publishN(t, h, "news", "before", 10)
	sub := subscribe(t, h, "news", before[3].ID, nil)
	after := publishN(t, h, "news", "after", 5)
	got := sub.waitForID(t, after[4].ID)
	sameEvents(t, "resumed after event 4", got, append(slices.Clone(before[4:]), after...))
}

func testResumeRace(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{Replay: 512, Buffer: 512})
	for round := range 20 {
		topic := fmt.Sprintf("race-%d", round)
		first := publishN(t, h, topic, "first", 5)
		var (
			wg   sync.WaitGroup
			rest []sse.Event
		)
		wg.Go(func() {
			for i := range 100 {
				e, err := h.Publish(context.Background(), topic, sse.Event{Data: fmt.Sprintf("rest-%d", i+1)})
				if err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
				rest = append(rest, e)
			}
		})
		sub := subscribe(t, h, topic, first[2].ID, nil)
		wg.Wait()
		if t.Failed() {
			return
		}
		last := publish(t, h, topic, sse.Event{Data: "last"})
		got := sub.waitForID(t, last.ID)
		want := slices.Concat(first[3:], rest, []sse.Event{last})
		sameEvents(t, "resumed while publishing", got, want)
	}
}

func testReplayNotBuffered(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{Replay: 64, Buffer: 4, Policy: sse.Disconnect})
	before := publishN(t, h, "news", "before", 20)
	sub := subscribe(t, h, "news", before[0].ID, nil)
	got := sub.waitForID(t, before[19].ID)
	sameEvents(t, "replay of 19 events with a buffer of 4", got, before[1:])
	after := publish(t, h, "news", sse.Event{Data: "after"})
	sub.waitForID(t, after.ID)
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

func testTooOld(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{Replay: 4})
	before := publishN(t, h, "news", "before", 10)
	sub := subscribe(t, h, "news", before[1].ID, nil)
	reset := waitReset(t, sub, "resume from event 2 of 10 with 4 kept")
	// Then the events published from now on, and none of the kept ones.
	after := publishN(t, h, "news", "after", 2)
	got := sub.waitForID(t, after[1].ID)
	sameEvents(t, "after the reset", got[1:], after)
	// The reset's id, if any, is where a client resumes from.
	if reset.ID != "" {
		again := subscribe(t, h, "news", reset.ID, nil)
		last := publish(t, h, "news", sse.Event{Data: "last"})
		got := again.waitForID(t, last.ID)
		sameEvents(t, "resumed from the reset's id", got, append(slices.Clone(after), last))
	}
}

func testUnknownID(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	publishN(t, h, "news", "before", 3)
	sub := subscribe(t, h, "news", strconv.FormatUint(1<<64-1, 10), nil)
	waitReset(t, sub, "resume from an id never issued")
}

func testMalformedID(t *testing.T, newHub func(Options) sse.Hub) {
	for _, id := range []string{
		"abc", "-1", "+1", "1.5", " 1", "1 ", "1e3", "0x10", "١",
		"18446744073709551616", // one more than the largest uint64
		"1\x00",
	} {
		t.Run(strconv.Quote(id), func(t *testing.T) {
			h := newHub(Options{})
			publishN(t, h, "news", "before", 3)
			sub := subscribe(t, h, "news", id, nil)
			got := probe(t, h, "news", sub)
			if got[0].Name != "probe" {
				t.Fatalf("Last-Event-ID %q: received %s before any new event; want none, as without an id", id, describe(got))
			}
		})
	}
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

func testPublishCancelled(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	start := publish(t, h, "news", sse.Event{Data: "start"})
	sub := subscribe(t, h, "news", start.ID, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Publish(ctx, "news", sse.Event{Data: "cancelled"}); err == nil {
		t.Fatal("Publish with a cancelled context succeeded")
	}
	last := publish(t, h, "news", sse.Event{Data: "last"})
	sameEvents(t, "received", sub.waitForID(t, last.ID), []sse.Event{last})
}

func testPublishUnframeable(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	start := publish(t, h, "news", sse.Event{Data: "start"})
	sub := subscribe(t, h, "news", start.ID, nil)
	if _, err := h.Publish(context.Background(), "news", sse.Event{Name: "x\ndata: forged", Data: "y"}); !errors.Is(err, sse.ErrNameLineBreak) {
		t.Fatalf("Publish of a name with a line break: %v, want ErrNameLineBreak", err)
	}
	last := publish(t, h, "news", sse.Event{Data: "last"})
	sameEvents(t, "received", sub.waitForID(t, last.ID), []sse.Event{last})
}

func testSubscribeEnds(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	start := publish(t, h, "news", sse.Event{Data: "start"})

	t.Run("context cancelled", func(t *testing.T) {
		cause := errors.New("client left")
		sub := subscribe(t, h, "news", start.ID, nil)
		e := publish(t, h, "news", sse.Event{Data: "x"})
		sub.waitForID(t, e.ID)
		sub.cancel(cause)
		if err := sub.end(t); !errors.Is(err, cause) {
			t.Fatalf("Subscribe returned %v, want the context's cause %v", err, cause)
		}
	})
	t.Run("context cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := h.Subscribe(ctx, "news", start.ID, func(sse.Frame) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Subscribe returned %v, want context.Canceled", err)
		}
	})
	t.Run("yield fails", func(t *testing.T) {
		stop := errors.New("stop")
		done := make(chan error, 1)
		go func() {
			done <- h.Subscribe(context.Background(), "news", start.ID, func(sse.Frame) error { return stop })
		}()
		publish(t, h, "news", sse.Event{Data: "y"})
		select {
		case err := <-done:
			if !errors.Is(err, stop) {
				t.Fatalf("Subscribe returned %v, want yield's error", err)
			}
		case <-time.After(patience):
			t.Fatal("Subscribe did not return after yield failed")
		}
	})
}

func testClose(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{})
	start := publish(t, h, "news", sse.Event{Data: "start"})
	subs := []*subscriber{subscribe(t, h, "news", start.ID, nil), subscribe(t, h, "news", start.ID, nil)}
	first := publish(t, h, "news", sse.Event{Data: "first"})
	for _, s := range subs {
		s.waitForID(t, first.ID) // subscribed
	}
	// Published just before Close, perhaps not yet delivered.
	events := append([]sse.Event{first}, publishN(t, h, "news", "event", 5)...)
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, s := range subs {
		if err := s.end(t); !errors.Is(err, sse.ErrHubClosed) {
			t.Fatalf("subscription %d ended with %v, want ErrClosed", i, err)
		}
		sameEvents(t, fmt.Sprintf("subscription %d received before it ended", i), s.received(), events)
	}
	if _, err := h.Publish(context.Background(), "news", sse.Event{Data: "late"}); !errors.Is(err, sse.ErrHubClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	late := subscribe(t, h, "news", "", nil)
	if err := late.end(t); !errors.Is(err, sse.ErrHubClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
