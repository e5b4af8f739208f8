package sse

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Defaults for the zero values of [MemHub]'s fields.
const (
	// DefaultReplay is the number of events a topic keeps for replay.
	DefaultReplay = 1024
	// DefaultReplayAge is how long a topic keeps an event for replay.
	DefaultReplayAge = 5 * time.Minute
	// DefaultBuffer is how many events a subscriber may fall behind.
	DefaultBuffer = 256
)

// MemHub is a [Hub] that keeps its topics in memory, for one server
// process. The zero value is ready to use; its fields must not change once
// it is in use.
//
// Each topic keeps its recent events, encoded once, in one ring that
// serves both replay and live delivery: a subscriber is no more than a
// position in the ring. So Publish costs the same whatever the number of
// subscribers: it encodes the event, appends it to the ring and wakes the
// topic's waiting subscribers; each subscriber then copies the frames it
// has not seen yet, on its own goroutine. MemHub starts no goroutine: a
// subscription runs on the goroutine that calls Subscribe. A topic's
// memory is bounded by Replay frames; a topic is forgotten when its last
// subscriber leaves and it keeps no event younger than ReplayAge.
//
// A topic's ids count up from the time the topic was created, in
// microseconds since 1970, one per event. So the ids of an earlier run of
// the server are lower than any of this run's, and a client resuming with
// one gets an [EventReset] event rather than the wrong events; this holds
// as long as the clock does not go back and a topic averages fewer than a
// million events a second.
type MemHub struct {
	// Replay is the number of recent events a topic keeps for clients
	// that resume with a Last-Event-ID. Zero means DefaultReplay.
	Replay int

	// ReplayAge is how long an event is kept for replay; a client that
	// resumes from an older one gets an [EventReset] event. Zero means
	// DefaultReplayAge. Expired events are forgotten when the topic's
	// next event is published.
	ReplayAge time.Duration

	// Buffer is how many events a subscriber may fall behind: events
	// published since it last took its topic's new events, not counting
	// those replayed to it when it subscribed. A subscriber further behind
	// is slow, and Policy applies. Zero means DefaultBuffer; a Buffer
	// larger than Replay counts as Replay.
	Buffer int

	// Policy says what happens to a slow subscriber. The zero value is
	// [Disconnect].
	Policy Policy

	mu     sync.Mutex
	topics map[string]*topic
	lastID uint64 // the highest id issued or reserved by any topic
	closed bool
}

// topic is the state of one topic of a MemHub. Its log, changed and closed
// are written with both the hub's lock and mu held, and read with either.
type topic struct {
	mu          sync.RWMutex
	log         replay
	changed     chan struct{} // closed when an event is published or the hub is closed
	closed      bool
	subscribers int // guarded by the hub's lock alone
}

var _ Hub = (*MemHub)(nil)

// replay returns the number of events a topic keeps.
func (h *MemHub) replay() int {
	if h.Replay <= 0 {
		return DefaultReplay
	}
	return h.Replay
}

// replayCutoff returns the publication time before which an event is too
// old to replay.
func (h *MemHub) replayCutoff() time.Time {
	age := h.ReplayAge
	if age <= 0 {
		age = DefaultReplayAge
	}
	return time.Now().Add(-age)
}

// buffer returns how many events a subscriber may fall behind.
func (h *MemHub) buffer() uint64 {
	b := h.Buffer
	if b <= 0 {
		b = DefaultBuffer
	}
	return uint64(min(b, h.replay()))
}

// topic returns the named topic, creating it if need be. h.mu must be held.
func (h *MemHub) topic(name string) *topic {
	t := h.topics[name]
	if t == nil {
		if h.topics == nil {
			h.topics = make(map[string]*topic)
		}
		base := max(uint64(max(time.Now().UnixMicro(), 0)), h.lastID)
		h.lastID = base
		t = &topic{log: replay{base: base, head: base}, changed: make(chan struct{})}
		h.topics[name] = t
	}
	return t
}

// Publish gives e the topic's next id, keeps it for replay and wakes the
// topic's subscribers; see [Hub.Publish]. It encodes e once, for all of
// them. It never blocks on a subscriber.
func (h *MemHub) Publish(ctx context.Context, name string, e Event) (Event, error) {
	if ctx.Err() != nil {
		return Event{}, context.Cause(ctx)
	}
	// Encode all but the id outside the lock: an encoded event is its
	// comment lines, its id line and the rest.
	var enc EventEncoder
	rest, err := enc.Append(nil, Event{Name: e.Name, Data: e.Data, Retry: e.Retry})
	if err != nil {
		return Event{}, fmt.Errorf("sse: publish: %w", err)
	}
	wire := make([]byte, 0, len(e.Comment)+len("::id: 18446744073709551615\n")+len(rest))
	if e.Comment != "" {
		wire, _ = enc.Append(wire, Event{Comment: e.Comment})
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return Event{}, ErrHubClosed
	}
	t := h.topic(name)
	id := t.log.head + 1
	idStart := len(wire) + len("id: ")
	wire = strconv.AppendUint(append(wire, "id: "...), id, 10)
	e.ID = string(wire[idStart:])
	wire = append(append(wire, '\n'), rest...)
	now := time.Now()
	f := Frame{&frame{event: e, wire: wire, at: now}}

	t.mu.Lock()
	t.log.expire(h.replayCutoff())
	t.log.add(f, h.replay())
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
	h.lastID = max(h.lastID, id)
	return e, nil
}

// Subscribe delivers the topic's events to yield until ctx is done, yield
// fails, the subscriber is slow or the hub is closed; see [Hub.Subscribe].
// It runs on the caller's goroutine and starts none.
func (h *MemHub) Subscribe(ctx context.Context, name, lastEventID string, yield func(Frame) error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrHubClosed
	}
	t := h.topic(name)
	t.subscribers++
	// Registered and positioned in one critical section, so no event
	// falls between the replay and the live ones.
	next, reset := t.log.resume(lastEventID, h.replayCutoff())
	joined := t.log.head
	h.mu.Unlock()
	defer h.leave(name, t)

	if reset != "" {
		e := Event{ID: strconv.FormatUint(joined, 10), Name: EventReset, Data: reset}
		if err := yield(mustFrame(e)); err != nil {
			return err
		}
	}
	return h.deliver(ctx, t, next, joined, yield)
}

// deliver runs a subscription from event next on. Events up to joined,
// the topic's newest when it subscribed, are its replay: they do not
// count against its buffer.
func (h *MemHub) deliver(ctx context.Context, t *topic, next, joined uint64, yield func(Frame) error) error {
	buffer := h.buffer()
	var batch []Frame
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		default:
		}
		t.mu.RLock()
		head, closed, changed := t.log.head, t.closed, t.changed
		from := next
		if live := max(next, joined+1); head >= live && head-live+1 > buffer {
			from = head - buffer + 1 // slow: keep the newest buffer events
		}
		from = max(from, t.log.oldest()) // what was forgotten is missed too
		missed := from - next
		if missed > 0 && h.Policy == Disconnect {
			t.mu.RUnlock()
			return fmt.Errorf("%w: %d events behind", ErrSlowSubscriber, head-next+1)
		}
		batch = t.log.appendRange(batch, from)
		next = head + 1
		t.mu.RUnlock()

		if missed > 0 {
			e := Event{Name: EventMissed, Data: strconv.FormatUint(missed, 10)}
			if err := yield(mustFrame(e)); err != nil {
				return err
			}
		}
		for _, f := range batch {
			if err := yield(f); err != nil {
				return err
			}
		}
		if len(batch) > 0 || missed > 0 {
			clear(batch) // hold no frame while idle
			if cap(batch) > 256 {
				batch = nil // nor a replay-sized slice
			}
			batch = batch[:0]
			continue // more may have come meanwhile
		}
		if closed {
			return ErrHubClosed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// leave unregisters a subscriber and forgets its topic if nothing is left
// in it.
func (h *MemHub) leave(name string, t *topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t.subscribers--
	if t.subscribers > 0 || h.topics[name] != t {
		return
	}
	if t.log.n == 0 || t.log.at(t.log.n-1).f.at.Before(h.replayCutoff()) {
		delete(h.topics, name)
	}
}

// Subscribers returns the number of subscriptions to the topic that are
// running, for metrics and tests.
func (h *MemHub) Subscribers(topic string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[topic]; t != nil {
		return t.subscribers
	}
	return 0
}

// Close ends every subscription, after it has delivered the events
// published before Close, and makes Publish and Subscribe fail with
// [ErrHubClosed]. It does not wait for the subscriptions to return, and
// always returns nil.
func (h *MemHub) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	for _, t := range h.topics {
		t.mu.Lock()
		t.closed = true
		close(t.changed)
		t.mu.Unlock()
	}
	return nil
}
