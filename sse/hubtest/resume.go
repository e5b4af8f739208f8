// The cases of resuming after a Last-Event-ID.

package hubtest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/ginstream/ginstream/sse"
)

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

// testResumeWholeReplay: a client that resumes from just before the
// oldest event kept is owed every event kept when it subscribed, even if
// an event published meanwhile pushes the oldest of them out of the
// replay before the subscription has read it; and it is never cut as
// slow, having never fallen behind. Each round races the publication
// against the subscription's start. One that lost the race (published
// before the subscriber was placed, or, for a hub that copies a broker's
// record, before its copy had the event after the client's id) gets a
// reset instead, and then the events after the reset's id.
func testResumeWholeReplay(t *testing.T, newHub func(Options) sse.Hub) {
	h := newHub(Options{Replay: 8, Buffer: 8, Policy: sse.Disconnect})
	placedFirst := 0
	for round := range 200 {
		topic := fmt.Sprintf("whole-%d", round)
		before := publishN(t, h, topic, "before", 12)
		sub := subscribe(t, h, topic, before[3].ID, nil)
		runtime.Gosched() // let the subscription start, sometimes
		live := publish(t, h, topic, sse.Event{Data: "live"})
		got := sub.waitForID(t, live.ID)
		all := append(slices.Clone(before), live)
		if reset := got[0]; reset.Name == sse.EventReset {
			after := parseID(t, reset.ID)
			i := slices.IndexFunc(all, func(e sse.Event) bool { return parseID(t, e.ID) > after })
			if i < 0 {
				i = len(all)
			}
			sameEvents(t, "after a reset to "+reset.ID, got[1:], all[i:])
			continue
		}
		placedFirst++
		sameEvents(t, "resumed from before the oldest of 8 kept, one more published", got, all[4:])
	}
	t.Logf("%d of 200 rounds placed the subscriber before the publication", placedFirst)
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
