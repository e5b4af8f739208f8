package sse

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ginstream/ginstream/sse/internal/topiclog"
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
// position in the ring. So Publish encodes the event once and appends it
// once, whatever the number of subscribers, then wakes them in the order
// they subscribed (never waiting for one); each subscriber then copies the
// frames it has not seen yet and writes them. Subscribe runs a
// subscription on the goroutine that calls it, and MemHub starts no
// goroutine for it; [EventWriter.Subscribe] instead has a MemHub
// subscription's frames written by a pool of writers that all its streams
// share, while the handler only waits (an idle stream then holds a
// smaller goroutine stack). A topic's
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

// topic is the state of one topic of a MemHub. Its log is appended to
// with the hub's lock held, so that what is read of it under that lock is
// consistent with the ids the hub issues.
type topic struct {
	log         *topiclog.Log[Frame]
	subscribers int // guarded by the hub's lock
}

var _ Hub = (*MemHub)(nil)

// logConfig returns the configuration of the topics' logs.
func (h *MemHub) logConfig() topiclog.Config[Frame] {
	c := topiclog.Config[Frame]{
		Limit:      h.Replay,
		MaxAge:     h.ReplayAge,
		Buffer:     h.Buffer,
		Disconnect: h.Policy == Disconnect,
		Slow:       ErrSlowSubscriber,
		Reset:      resetFrame,
		Missed:     missedFrame,
	}
	if c.Limit <= 0 {
		c.Limit = DefaultReplay
	}
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultReplayAge
	}
	if c.Buffer <= 0 {
		c.Buffer = DefaultBuffer
	}
	return c
}

// topic returns the named topic, creating it if need be. h.mu must be held.
func (h *MemHub) topic(name string) *topic {
	t := h.topics[name]
	if t == nil {
		if h.topics == nil {
			h.topics = make(map[string]*topic)
		}
		head := max(uint64(max(time.Now().UnixMicro(), 0)), h.lastID)
		h.lastID = head
		t = &topic{log: topiclog.New(h.logConfig(), head+1)}
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
	id := t.log.Head() + 1
	idStart := len(wire) + len("id: ")
	wire = strconv.AppendUint(append(wire, "id: "...), id, 10)
	e.ID = string(wire[idStart:])
	wire = append(append(wire, '\n'), rest...)
	t.log.Append(id, Frame{&frame{event: e, wire: wire}}, time.Now())
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
	t, start, err := h.join(name, lastEventID)
	if err != nil {
		return err
	}
	defer h.leave(name, t)
	return t.log.Deliver(ctx, start, yield)
}

// join registers a subscriber of the topic and places it after
// lastEventID.
func (h *MemHub) join(name, lastEventID string) (*topic, topiclog.Start[Frame], error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, topiclog.Start[Frame]{}, ErrHubClosed
	}
	t := h.topic(name)
	t.subscribers++
	// Registered and positioned in one critical section, so no event
	// falls between the replay and the live ones.
	return t, t.log.Resume(lastEventID, t.log.Kept()), nil
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
	if t.log.Stale() {
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
		t.log.Close(ErrHubClosed)
	}
	return nil
}

// resetFrame is the [EventReset] event that tells a subscriber it missed
// events, for the reason given, and resumes from the id newest.
func resetFrame(reason string, newest uint64) Frame {
	return mustFrame(Event{ID: strconv.FormatUint(newest, 10), Name: EventReset, Data: reason})
}

// missedFrame is the [EventMissed] event that tells a slow subscriber
// that it missed n events.
func missedFrame(n uint64) Frame {
	return mustFrame(Event{Name: EventMissed, Data: strconv.FormatUint(n, 10)})
}
