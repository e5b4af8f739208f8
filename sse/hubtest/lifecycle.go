// The cases of publishing failures, subscriptions ending and Close.

package hubtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ginstream/ginstream/sse"
)

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
