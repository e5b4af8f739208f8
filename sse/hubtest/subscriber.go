package hubtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ginstream/ginstream/sse"
)

// patience bounds every wait, so that a broken hub fails the test instead
// of hanging it. It is a deadlock guard, not a performance claim.
const patience = 10 * time.Second

// subscriber is a subscription running on a goroutine of its own, which
// records what it receives without ever making the hub wait, unless it is
// gated.
type subscriber struct {
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when Subscribe has returned
	err    error         // what Subscribe returned; read after done

	mu      sync.Mutex
	events  []sse.Event
	frames  []sse.Frame
	changed chan struct{} // closed and replaced when events grows
}

// subscribe starts a subscription, ended when the test ends. If gate is
// not nil, yield waits after recording each event until gate is closed,
// like a client that stopped reading.
func subscribe(t *testing.T, h sse.Hub, topic, lastEventID string, gate <-chan struct{}) *subscriber {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &subscriber{cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = h.Subscribe(ctx, topic, lastEventID, func(f sse.Frame) error {
			s.mu.Lock()
			s.events = append(s.events, f.Event())
			s.frames = append(s.frames, f)
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel(errors.New("hubtest: test over"))
		<-s.done
	})
	return s
}

// received returns a copy of the events received so far.
func (s *subscriber) received() []sse.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sse.Event(nil), s.events...)
}

// waitFor waits until the subscriber has received an event that satisfies
// ok, and returns every event received up to and including it.
func (s *subscriber) waitFor(t *testing.T, what string, ok func(sse.Event) bool) []sse.Event {
	t.Helper()
	deadline := time.After(patience)
	seen := 0
	for {
		s.mu.Lock()
		events, changed := s.events, s.changed
		s.mu.Unlock()
		for i := seen; i < len(events); i++ {
			if ok(events[i]) {
				return append([]sse.Event(nil), events[:i+1]...)
			}
		}
		seen = len(events)
		select {
		case <-changed:
		case <-s.done:
			s.mu.Lock()
			grew := len(s.events) > seen
			s.mu.Unlock()
			if !grew {
				t.Fatalf("subscription ended with %v before receiving %s; received %d events", s.err, what, seen)
			}
		case <-deadline:
			t.Fatalf("no %s received within %v; received %d events", what, patience, seen)
		}
	}
}

// waitForID waits for the event with the given id.
func (s *subscriber) waitForID(t *testing.T, id string) []sse.Event {
	t.Helper()
	return s.waitFor(t, "event "+id, func(e sse.Event) bool { return e.ID == id })
}

// waitForCount waits until n events have been received, and returns them.
func (s *subscriber) waitForCount(t *testing.T, n int) []sse.Event {
	t.Helper()
	count := 0
	return s.waitFor(t, "enough events", func(sse.Event) bool { count++; return count >= n })
}

// end waits for Subscribe to return, and returns its error.
func (s *subscriber) end(t *testing.T) error {
	t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(patience):
		t.Fatalf("Subscribe did not return within %v", patience)
		return nil
	}
}

// running reports whether Subscribe has not returned yet.
func (s *subscriber) running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}
