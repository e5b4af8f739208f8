package sse_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/sse/hubtest"
)

// TestMemHub runs the conformance suite that every Hub passes.
func TestMemHub(t *testing.T) {
	hubtest.Run(t, func(t *testing.T, o hubtest.Options) sse.Hub {
		return &sse.MemHub{Replay: o.Replay, Buffer: o.Buffer, Policy: o.Policy}
	})
}

// subscribeAll runs a subscription in the background until the test
// cleans up, and returns what it has received so far on each call of the
// returned function. It works inside a synctest bubble.
func subscribeAll(t *testing.T, h sse.Hub, topic, lastEventID string) (received func() []sse.Event) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var (
		mu  sync.Mutex
		got []sse.Event
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Subscribe(ctx, topic, lastEventID, func(f sse.Frame) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, f.Event())
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return func() []sse.Event {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// names returns the names (or, for unnamed events, the data) of events.
func names(events []sse.Event) []string {
	var out []string
	for _, e := range events {
		if e.Name != "" {
			out = append(out, e.Name+":"+e.Data)
		} else {
			out = append(out, e.Data)
		}
	}
	return out
}

// TestMemHubReplayAge: resuming replays only events younger than
// ReplayAge; a client whose next event has expired gets a reset.
func TestMemHubReplayAge(t *testing.T) {
	tests := []struct {
		name  string
		after string        // the data of the last event the client received
		at    time.Duration // when it resumes
		want  []string
	}{
		{"all young", "e0", 50 * time.Second, []string{"e1", "e2"}},
		{"next one exactly ReplayAge old", "e0", 60 * time.Second, []string{"e1", "e2"}},
		{"next one expired", "e0", 75 * time.Second, []string{"reset:too-old"}},
		{"next one still young", "e1", 75 * time.Second, []string{"e2"}},
		{"next one expired later", "e1", 95 * time.Second, []string{"reset:too-old"}},
		{"up to date, all expired", "e2", 200 * time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &sse.MemHub{ReplayAge: time.Minute}
				defer h.Close()
				ctx := t.Context()
				ids := map[string]string{}
				pub := func(data string) {
					e, err := h.Publish(ctx, "news", sse.Event{Data: data})
					if err != nil {
						t.Fatal(err)
					}
					ids[data] = e.ID
				}
				pub("e0") // t = 0
				pub("e1") // t = 0
				time.Sleep(30 * time.Second)
				pub("e2") // t = 30 s
				time.Sleep(tt.at - 30*time.Second)
				received := subscribeAll(t, h, "news", ids[tt.after])
				synctest.Wait()
				if got := names(received()); !slices.Equal(got, tt.want) {
					t.Fatalf("resumed after %s at %v: got %q, want %q", tt.after, tt.at, got, tt.want)
				}
			})
		})
	}
}

// TestMemHubEpochs: ids from another run of the server (an earlier or a
// later hub) get a reset, never the wrong events, even once the new hub
// has published more events than the old one.
func TestMemHubEpochs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		old := &sse.MemHub{}
		var oldIDs []string
		for i := range 3 {
			e, _ := old.Publish(ctx, "news", sse.Event{Data: fmt.Sprint("old", i)})
			oldIDs = append(oldIDs, e.ID)
		}
		old.Close()
		time.Sleep(time.Second) // the server restarts
		h := &sse.MemHub{}
		defer h.Close()
		var newIDs []string
		for i := range 10 {
			e, _ := h.Publish(ctx, "news", sse.Event{Data: fmt.Sprint("new", i)})
			newIDs = append(newIDs, e.ID)
		}
		for _, tt := range []struct{ name, id, reason string }{
			{"id of the earlier run", oldIDs[2], "too-old"},
			{"first id of the earlier run", oldIDs[0], "too-old"},
		} {
			received := subscribeAll(t, h, "news", tt.id)
			synctest.Wait()
			if got := names(received()); !slices.Equal(got, []string{"reset:" + tt.reason}) {
				t.Errorf("%s: received %q, want a reset", tt.name, got)
			}
		}
		// And an id of this run on the earlier hub, were it still up.
		old2 := &sse.MemHub{}
		defer old2.Close()
		old2.Publish(ctx, "other", sse.Event{Data: "x"})
		received := subscribeAll(t, old2, "other", newIDs[9])
		synctest.Wait()
		if got := names(received()); !slices.Equal(got, []string{"reset:unknown"}) {
			t.Errorf("id from the future: received %q, want a reset", got)
		}
	})
}

// TestMemHubEncodesOnce: every subscriber receives the same Frame for an
// event, the one encoding made when it was published.
func TestMemHubEncodesOnce(t *testing.T) {
	h := &sse.MemHub{}
	defer h.Close()
	ctx := t.Context()
	start, _ := h.Publish(ctx, "news", sse.Event{Data: "start"})
	const subscribers = 50
	frames := make([][]sse.Frame, subscribers)
	var wg sync.WaitGroup
	for i := range frames {
		wg.Go(func() {
			_ = h.Subscribe(ctx, "news", start.ID, func(f sse.Frame) error {
				frames[i] = append(frames[i], f)
				if f.Event().Data == "last" {
					return errDone
				}
				return nil
			})
		})
	}
	for i := range 10 {
		h.Publish(ctx, "news", sse.Event{Data: fmt.Sprint("event ", i)})
	}
	h.Publish(ctx, "news", sse.Event{Data: "last"})
	wg.Wait()
	for i := range frames {
		if !slices.Equal(frames[i], frames[0]) {
			t.Fatalf("subscriber %d received other frames than subscriber 0: each event must be encoded once and shared", i)
		}
	}
	if len(frames[0]) != 11 {
		t.Fatalf("received %d frames, want 11", len(frames[0]))
	}
}

// errDone ends a subscription in tests.
var errDone = errors.New("done")

// TestMemHubSubscribeCycles: thousands of subscriptions that start and
// end, while events are published, leave no subscriber and no goroutine
// behind.
func TestMemHubSubscribeCycles(t *testing.T) {
	h := &sse.MemHub{Replay: 64}
	defer h.Close()
	ctx := t.Context()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i := range 4 {
				h.Publish(ctx, fmt.Sprint("topic-", i), sse.Event{Data: "tick"})
			}
			time.Sleep(10 * time.Microsecond)
		}
	})
	for i := range 5000 {
		topic := fmt.Sprint("topic-", i%4)
		sctx, cancel := context.WithCancel(ctx)
		yield := func(sse.Frame) error { return nil }
		lastID := fmt.Sprint(i) // too old: a reset first
		switch i % 3 {
		case 0: // the client leaves at once
			cancel()
		case 1: // the client leaves after its first live event
			yield = func(sse.Frame) error { return errDone }
			lastID = ""
		case 2: // the client leaves while waiting
			time.AfterFunc(time.Duration(i%7)*time.Microsecond, cancel)
		}
		_ = h.Subscribe(sctx, topic, lastID, yield)
		cancel()
	}
	close(stop)
	wg.Wait()
	for i := range 4 {
		if n := h.Subscribers(fmt.Sprint("topic-", i)); n != 0 {
			t.Errorf("topic-%d has %d subscribers after every subscription ended", i, n)
		}
	}
	goleak.VerifyNone(t)
}
