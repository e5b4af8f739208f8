package natshub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/internal/natstest"
	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/sse/natshub"
)

// patience bounds every wait for something that must happen: a deadlock
// guard, not a performance claim.
const patience = 30 * time.Second

// recorder is a subscription running on a goroutine of its own until the
// test ends, recording the events it receives.
type recorder struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error // what Subscribe returned; read after done

	mu     sync.Mutex
	events []sse.Event
	wake   chan struct{} // closed and replaced when events grows
}

// record subscribes to topic of h from lastEventID.
func record(t *testing.T, h sse.Hub, topic, lastEventID string) *recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{cancel: cancel, done: make(chan struct{}), wake: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = h.Subscribe(ctx, topic, lastEventID, func(f sse.Frame) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.events = append(r.events, f.Event())
			close(r.wake)
			r.wake = make(chan struct{})
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// waitFor waits until the recorder has received an event that satisfies
// ok, and returns every event received up to it.
func (r *recorder) waitFor(t *testing.T, what string, ok func(sse.Event) bool) []sse.Event {
	t.Helper()
	deadline := time.After(patience)
	for {
		r.mu.Lock()
		events, wake := slices.Clone(r.events), r.wake
		r.mu.Unlock()
		if i := slices.IndexFunc(events, ok); i >= 0 {
			return events[:i+1]
		}
		select {
		case <-wake:
		case <-r.done:
			r.mu.Lock()
			grew := len(r.events) > len(events)
			r.mu.Unlock()
			if !grew {
				t.Fatalf("the subscription ended with %v before %s; received %v", r.err, what, events)
			}
		case <-deadline:
			t.Fatalf("no %s within %v; received %v", what, patience, events)
		}
	}
}

// waitForID waits for the event with the given id.
func (r *recorder) waitForID(t *testing.T, id string) []sse.Event {
	t.Helper()
	return r.waitFor(t, "event "+id, func(e sse.Event) bool { return e.ID == id })
}

// end waits for the subscription to end and returns its error.
func (r *recorder) end(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(patience):
		t.Fatalf("the subscription did not end within %v", patience)
		return nil
	}
}

// publishN publishes n events through h, with data prefix-1, prefix-2, …
func publishN(t *testing.T, h sse.Hub, topic, prefix string, n int) []sse.Event {
	t.Helper()
	var out []sse.Event
	for i := range n {
		e, err := h.Publish(context.Background(), topic, sse.Event{Data: fmt.Sprintf("%s-%d", prefix, i+1)})
		if err != nil {
			t.Fatalf("Publish: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// id returns an event's id as a number.
func id(t *testing.T, e sse.Event) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(e.ID, 10, 64)
	if err != nil {
		t.Fatalf("id %q: %v", e.ID, err)
	}
	return n
}

// TestHubInstances: hubs with their own connections, as in separate
// processes, share topics: events published through any of them reach
// the subscribers of all, with ids one apart; a client resumes on one
// instance from an id it received from another; and the first ids of a
// topic are above any of a stream made earlier (microseconds since 1970).
func TestHubInstances(t *testing.T) {
	ns := natstest.Start(t)
	prefix := newPrefix()
	hubs := make([]*natshub.Hub, 3)
	for i := range hubs {
		hubs[i] = &natshub.Hub{JetStream: ns.Connect(t), Prefix: prefix, Storage: jetstream.MemoryStorage}
		t.Cleanup(func() { hubs[i].Close() })
	}
	before := time.Now().UnixMicro()
	start := publishN(t, hubs[0], "news", "start", 1)[0]
	if got := id(t, start); got < uint64(before) {
		t.Errorf("the first id is %d, want at least the time in µs before the stream was made, %d", got, before)
	}
	subs := []*recorder{record(t, hubs[0], "news", start.ID), record(t, hubs[1], "news", start.ID), record(t, hubs[2], "news", start.ID)}
	var want []sse.Event
	for i := range 30 {
		want = append(want, publishN(t, hubs[i%3], "news", fmt.Sprintf("from-%d", i%3), 1)...)
	}
	for i, e := range want {
		if id(t, e) != id(t, start)+uint64(i)+1 {
			t.Fatalf("event %d has id %s after %s: want ids one apart whichever instance publishes", i, e.ID, start.ID)
		}
	}
	for i, s := range subs {
		if got := s.waitForID(t, want[len(want)-1].ID); !slices.Equal(got, want) {
			t.Fatalf("instance %d received %v, want %v", i, got, want)
		}
	}

	// A client of instance 0 that received up to event 10 resumes on
	// instance 2 (which has a copy already) and on a fresh instance
	// (which reads the stream first).
	fresh := &natshub.Hub{JetStream: ns.Connect(t), Prefix: prefix, Storage: jetstream.MemoryStorage}
	t.Cleanup(func() { fresh.Close() })
	for name, h := range map[string]*natshub.Hub{"running": hubs[2], "fresh": fresh} {
		r := record(t, h, "news", want[9].ID)
		if got := r.waitForID(t, want[len(want)-1].ID); !slices.Equal(got, want[10:]) {
			t.Fatalf("%s instance: resumed with %v, want %v", name, got, want[10:])
		}
	}
}

// TestHubResetAcrossEpochs: a client whose id is from a stream that was
// deleted and made again (or lost with a NATS server's memory) gets a
// too-old reset from the new stream, never the wrong events.
func TestHubResetAcrossEpochs(t *testing.T) {
	ns := natstest.Start(t)
	js := ns.Connect(t)
	h := &natshub.Hub{JetStream: js, Prefix: newPrefix(), Storage: jetstream.MemoryStorage}
	t.Cleanup(func() { h.Close() })
	old := publishN(t, h, "news", "old", 3)
	stream := h.Prefix + "_news"
	if err := js.DeleteStream(context.Background(), stream); err != nil {
		t.Fatal(err)
	}
	// The hub notices the stream is gone and makes a new one.
	fresh := publishN(t, h, "news", "new", 5)
	if id(t, fresh[0]) <= id(t, old[2]) {
		t.Fatalf("the new stream's first id %s is not above the old one's last, %s", fresh[0].ID, old[2].ID)
	}
	r := record(t, h, "news", old[1].ID)
	got := r.waitFor(t, "a reset", func(e sse.Event) bool { return true })
	if want := (sse.Event{ID: fresh[4].ID, Name: sse.EventReset, Data: "too-old"}); got[0] != want {
		t.Fatalf("resuming from the old stream's id: %+v, want %+v", got[0], want)
	}
}

// TestHubReplayAge: an event older than ReplayAge is not replayed: the
// stream's MaxAge removes it, and a client resuming from before it gets a
// too-old reset.
func TestHubReplayAge(t *testing.T) {
	ns := natstest.Start(t)
	js := ns.Connect(t)
	h := &natshub.Hub{JetStream: js, Prefix: newPrefix(), Storage: jetstream.MemoryStorage, ReplayAge: 200 * time.Millisecond}
	t.Cleanup(func() { h.Close() })
	events := publishN(t, h, "news", "e", 3)
	stream, err := js.Stream(context.Background(), h.Prefix+"_news")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(patience)
	for {
		info, err := stream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream still keeps %d events after %v", info.State.Msgs, patience)
		}
		time.Sleep(50 * time.Millisecond) // polling JetStream's expiry; not an assertion
	}
	r := record(t, h, "news", events[0].ID)
	got := r.waitFor(t, "a reset", func(sse.Event) bool { return true })
	if want := (sse.Event{ID: events[2].ID, Name: sse.EventReset, Data: "too-old"}); got[0] != want {
		t.Fatalf("resuming from an expired id: %+v, want %+v", got[0], want)
	}
	// The last id is still a place to resume from: nothing after it was
	// missed.
	again := record(t, h, "news", events[2].ID)
	next := publishN(t, h, "news", "after", 1)
	if got := again.waitForID(t, next[0].ID); !slices.Equal(got, next) {
		t.Fatalf("resuming from the newest id: %v, want %v", got, next)
	}
}

// TestHubBrokerOutage: when the NATS server goes away, running
// subscriptions end with ErrUnavailable after delivering what had
// arrived, Publish and Subscribe fail with it at once; when the server is
// back (same store), the client reconnects, publishing and subscribing
// work again, and a client resumes from its last id with nothing missed.
func TestHubBrokerOutage(t *testing.T) {
	ns := natstest.Start(t)
	h := &natshub.Hub{JetStream: ns.Connect(t), Prefix: newPrefix()} // file storage: it survives the restart
	t.Cleanup(func() { h.Close() })
	before := publishN(t, h, "news", "before", 3)
	r := record(t, h, "news", before[0].ID)
	r.waitForID(t, before[2].ID)

	ns.Stop()
	err := r.end(t)
	if !errors.Is(err, natshub.ErrUnavailable) {
		t.Fatalf("the subscription ended with %v, want ErrUnavailable", err)
	}
	if _, err := h.Publish(context.Background(), "news", sse.Event{Data: "lost"}); !errors.Is(err, natshub.ErrUnavailable) {
		t.Fatalf("Publish while NATS is down: %v, want ErrUnavailable", err)
	}
	err = h.Subscribe(context.Background(), "news", before[2].ID, func(sse.Frame) error { return nil })
	if !errors.Is(err, natshub.ErrUnavailable) {
		t.Fatalf("Subscribe while NATS is down: %v, want ErrUnavailable", err)
	}

	ns.Start()
	var after []sse.Event
	deadline := time.Now().Add(patience)
	for len(after) == 0 {
		e, err := h.Publish(context.Background(), "news", sse.Event{Data: "after"})
		switch {
		case err == nil:
			after = append(after, e)
		case !errors.Is(err, natshub.ErrUnavailable):
			t.Fatalf("Publish after the restart: %v", err)
		case time.Now().After(deadline):
			t.Fatalf("Publish still fails %v after the restart: %v", patience, err)
		default:
			time.Sleep(50 * time.Millisecond) // the client reconnects; not an assertion
		}
	}
	if id(t, after[0]) != id(t, before[2])+1 {
		t.Fatalf("the first id after the restart is %s, want the one after %s: the stream was kept", after[0].ID, before[2].ID)
	}
	resumed := record(t, h, "news", before[2].ID)
	after = append(after, publishN(t, h, "news", "later", 2)...)
	if got := resumed.waitForID(t, after[2].ID); !slices.Equal(got, after) {
		t.Fatalf("resumed after the restart with %v, want %v", got, after)
	}
}

// TestHubCloseDrains: Close lets the subscriptions deliver what was
// published through the hub before it, even if it has not come back from
// the stream yet, then ends them with ErrClosed; other instances go on.
func TestHubCloseDrains(t *testing.T) {
	ns := natstest.Start(t)
	prefix := newPrefix()
	a := &natshub.Hub{JetStream: ns.Connect(t), Prefix: prefix, Storage: jetstream.MemoryStorage}
	b := &natshub.Hub{JetStream: ns.Connect(t), Prefix: prefix, Storage: jetstream.MemoryStorage}
	t.Cleanup(func() { b.Close() })
	start := publishN(t, a, "news", "start", 1)
	ra, rb := record(t, a, "news", start[0].ID), record(t, b, "news", start[0].ID)
	// Subscribed before Close, which a later subscription would meet
	// with ErrHubClosed and no event.
	for _, h := range []*natshub.Hub{a, b} {
		deadline := time.Now().Add(patience)
		for h.Subscribers("news") == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no subscription within %v", patience)
			}
			time.Sleep(time.Millisecond)
		}
	}
	events := publishN(t, a, "news", "e", 50)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ra.end(t); !errors.Is(err, sse.ErrHubClosed) {
		t.Fatalf("the subscription of the closed hub ended with %v, want ErrClosed", err)
	}
	if got := ra.events; !slices.Equal(got, events) {
		t.Fatalf("the closed hub's subscription received %d events, want the %d published before Close", len(got), len(events))
	}
	last := publishN(t, b, "news", "last", 1)
	if got := rb.waitForID(t, last[0].ID); !slices.Equal(got, append(events, last...)) {
		t.Fatalf("the other instance received %v", got)
	}
}

// TestHubSubscribers counts the subscriptions of an instance.
func TestHubSubscribers(t *testing.T) {
	ns := natstest.Start(t)
	h := &natshub.Hub{JetStream: ns.Connect(t), Prefix: newPrefix(), Storage: jetstream.MemoryStorage}
	t.Cleanup(func() { h.Close() })
	start := publishN(t, h, "news", "start", 1)
	r1, r2 := record(t, h, "news", start[0].ID), record(t, h, "news", start[0].ID)
	e := publishN(t, h, "news", "e", 1)
	r1.waitForID(t, e[0].ID)
	r2.waitForID(t, e[0].ID)
	if n := h.Subscribers("news"); n != 2 {
		t.Fatalf("Subscribers = %d, want 2", n)
	}
	r1.cancel()
	r1.end(t)
	if n := h.Subscribers("news"); n != 1 {
		t.Fatalf("Subscribers after one left = %d, want 1", n)
	}
	if n := h.Subscribers("other"); n != 0 {
		t.Fatalf("Subscribers of another topic = %d, want 0", n)
	}
}
