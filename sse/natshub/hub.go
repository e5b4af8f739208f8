package natshub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/sse/internal/topiclog"
)

// Defaults for the zero values of [Hub]'s fields.
const (
	// DefaultPrefix starts the names of a hub's streams and subjects.
	DefaultPrefix = "SSE"
	// DefaultDrainTimeout bounds how long Close waits for the events
	// published before it to come back from the stream.
	DefaultDrainTimeout = 5 * time.Second
)

// requestTimeout bounds a JetStream request made without a deadline of
// the caller's (setting up a topic's consumer).
const requestTimeout = 10 * time.Second

// consumerInactive is how long the server keeps a consumer that nobody
// reads, for instance after this process died.
const consumerInactive = 30 * time.Second

// ErrUnavailable reports that the hub could not use NATS: the connection
// is down (the client is reconnecting), or a JetStream request failed.
// Publish and Subscribe return it at once while the connection is down, a
// running subscription ends with it when the connection drops, and both
// work again once the client has reconnected. The error wraps the cause.
// Its status (sink.StatusOf) is 503 Service Unavailable, which is all a
// client is told.
var ErrUnavailable error = sink.WithStatus(http.StatusServiceUnavailable, errors.New("natshub: NATS unavailable"))

// errDrained ends a topic's tail once Close has had the events published
// before it.
var errDrained = errors.New("natshub: drained")

// Hub is an [sse.Hub] whose topics are JetStream streams, shared by every
// server process that uses the same streams: an event published through
// one instance reaches the subscribers of every instance, and a client
// that resumes with a Last-Event-ID may do so on any of them. JetStream
// must be set; the zero values of the other fields are documented
// defaults. The fields must not change once the hub is in use.
//
// See the package documentation for how topics map to streams, where ids
// come from, and what the hub does when NATS goes away.
type Hub struct {
	// JetStream is the client the hub uses. It must not be nil. The hub
	// does not close its connection: whoever made it does, after Close.
	JetStream jetstream.JetStream

	// Prefix starts the names of the hub's streams (Prefix_topic) and
	// subjects (Prefix.topic): ASCII letters, digits and '-'. Empty means
	// DefaultPrefix. Hubs that share topics use the same prefix.
	Prefix string

	// Replay is the number of recent events a topic keeps for clients
	// that resume: the stream's MaxMsgs, and the most each instance keeps
	// in memory. Zero means sse.DefaultReplay.
	Replay int

	// ReplayAge is how long an event is kept for replay: the stream's
	// MaxAge. Zero means sse.DefaultReplayAge.
	ReplayAge time.Duration

	// Buffer is how many events a subscriber may fall behind, as in
	// sse.MemHub. Zero means sse.DefaultBuffer; more than Replay counts
	// as Replay.
	Buffer int

	// Policy says what happens to a slow subscriber. The zero value is
	// sse.Disconnect.
	Policy sse.Policy

	// Storage is where the streams the hub creates keep their events.
	// The zero value is jetstream.FileStorage.
	Storage jetstream.StorageType

	// Replicas is the number of copies of each stream the hub creates,
	// in a JetStream cluster. Zero means 1.
	Replicas int

	// DrainTimeout bounds how long Close waits for the events published
	// through the hub before Close to come back from their streams, so
	// that its subscriptions deliver them before they end. Zero means
	// DefaultDrainTimeout.
	DrainTimeout time.Duration

	mu         sync.Mutex
	topics     map[string]*topic // the topics with subscriptions on this instance
	streams    map[string]bool   // the topics whose streams are known to exist
	published  map[string]uint64 // the newest id published through the hub, by topic
	closed     bool
	publishing sync.WaitGroup // Publish calls under way
	tails      sync.WaitGroup // every topic's tail
}

var _ sse.Hub = (*Hub)(nil)

// replay returns the number of events a topic keeps.
func (h *Hub) replay() int {
	if h.Replay <= 0 {
		return sse.DefaultReplay
	}
	return h.Replay
}

// replayAge returns how long an event is kept.
func (h *Hub) replayAge() time.Duration {
	if h.ReplayAge <= 0 {
		return sse.DefaultReplayAge
	}
	return h.ReplayAge
}

// logConfig returns the configuration of the logs of the topics with
// subscribers on this instance.
func (h *Hub) logConfig() topiclog.Config[sse.Frame] {
	c := topiclog.Config[sse.Frame]{
		Limit:      h.replay(),
		MaxAge:     h.replayAge(),
		Buffer:     h.Buffer,
		Disconnect: h.Policy == sse.Disconnect,
		Slow:       sse.ErrSlowSubscriber,
		Reset:      resetFrame,
		Missed:     missedFrame,
	}
	if c.Buffer <= 0 {
		c.Buffer = sse.DefaultBuffer
	}
	return c
}

// kept returns the ids of the events that a topic's stream keeps for
// replay, from its first and last sequence numbers: at most Replay.
func (h *Hub) kept(first, last uint64) topiclog.Range {
	oldest := max(first, 1)
	if r := uint64(h.replay()); last+1 > r {
		oldest = max(oldest, last+1-r)
	}
	return topiclog.Range{Oldest: oldest, Newest: last}
}

// Publish stores e in the topic's stream, whose sequence number becomes
// its id, and returns it with that id; see [sse.Hub]. It waits for the
// stream's acknowledgement (a round trip to NATS), never for subscribers.
// Besides the errors of sse.Hub it returns one matching [ErrUnavailable]
// if NATS cannot be used (nothing is published then, unless the
// acknowledgement was lost: see the package documentation) and
// [ErrTopicName] for a topic too long to name a stream.
func (h *Hub) Publish(ctx context.Context, name string, e sse.Event) (sse.Event, error) {
	if ctx.Err() != nil {
		return sse.Event{}, context.Cause(ctx)
	}
	body, err := encodeEvent(e)
	if err != nil {
		return sse.Event{}, fmt.Errorf("natshub: publish: %w", err)
	}
	n, err := h.names(name)
	if err != nil {
		return sse.Event{}, err
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return sse.Event{}, sse.ErrHubClosed
	}
	h.publishing.Add(1)
	known := h.streams[name]
	h.mu.Unlock()
	defer h.publishing.Done()
	if err := h.usable(); err != nil {
		return sse.Event{}, err
	}

	for attempt := 0; ; attempt++ {
		if !known {
			if _, err := h.stream(ctx, n, name); err != nil {
				return sse.Event{}, err
			}
		}
		ack, err := h.JetStream.Publish(ctx, n.subject, body, jetstream.WithExpectStream(n.stream))
		if errors.Is(err, jetstream.ErrNoStreamResponse) && known && attempt == 0 {
			// The stream is gone (deleted, or lost with a NATS server's
			// memory): no stream received the event. Make it again.
			h.forgetStream(name)
			known = false
			continue
		}
		if err != nil {
			return sse.Event{}, brokerError(ctx, "publish to "+n.subject, err)
		}
		h.mu.Lock()
		if h.published == nil {
			h.published = make(map[string]uint64)
		}
		h.published[name] = max(h.published[name], ack.Sequence)
		h.mu.Unlock()
		e.ID = strconv.FormatUint(ack.Sequence, 10)
		return e, nil
	}
}

// Subscribe delivers the topic's events to yield until ctx is done, yield
// fails, the subscriber is slow, the hub is closed or the connection to
// NATS drops; see [sse.Hub]. It looks up the topic's stream (a round trip
// to NATS) to place the subscriber, then delivers from this instance's
// copy of the topic's newest events, shared by all of its subscribers. It
// runs on the caller's goroutine. Besides the errors of sse.Hub it returns
// one matching [ErrUnavailable] when NATS cannot be used or the
// connection drops (after delivering what had arrived), and
// [ErrTopicName].
func (h *Hub) Subscribe(ctx context.Context, name, lastEventID string, yield func(sse.Frame) error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	n, err := h.names(name)
	if err != nil {
		return err
	}
	if err := h.usable(); err != nil {
		return err
	}
	info, err := h.stream(ctx, n, name)
	if err != nil {
		return err
	}
	kept := h.kept(info.State.FirstSeq, info.State.LastSeq)
	t, err := h.join(name, n.stream, kept.Oldest)
	if err != nil {
		return err
	}
	defer h.leave(name, t)
	return t.log.Deliver(ctx, t.log.Resume(lastEventID, kept), yield)
}

// join registers a subscriber of a topic, starting the topic's tail if it
// has none, from the event start: the oldest that the stream keeps for
// replay, so that this instance can replay what the stream does.
func (h *Hub) join(name, stream string, start uint64) (*topic, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, sse.ErrHubClosed
	}
	t := h.topics[name]
	if t == nil {
		t = newTopic(h.logConfig(), start)
		if h.topics == nil {
			h.topics = make(map[string]*topic)
		}
		h.topics[name] = t
		h.tails.Add(1)
		go h.runTail(name, t, stream, start)
	}
	t.subscribers++
	return t, nil
}

// leave unregisters a subscriber, and stops its topic's tail if it was
// the last.
func (h *Hub) leave(name string, t *topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t.subscribers--
	if t.subscribers == 0 && h.topics[name] == t {
		delete(h.topics, name)
		close(t.stop)
	}
}

// Subscribers returns the number of subscriptions to the topic running on
// this instance, for metrics and tests.
func (h *Hub) Subscribers(topic string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[topic]; t != nil {
		return t.subscribers
	}
	return 0
}

// Close ends every subscription of this instance, after it has delivered
// the events published through the hub before Close (waiting at most
// DrainTimeout for them to come back from their streams), and makes
// Publish and Subscribe fail with sse.ErrHubClosed; see [sse.Hub]. It waits
// for the Publish calls under way and for the hub's own goroutines, not
// for the subscriptions. It leaves the streams and their events in
// JetStream, and the connection open. It always returns nil.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.publishing.Wait()
	h.mu.Lock()
	for name, t := range h.topics {
		t.close(h.published[name])
	}
	h.mu.Unlock()
	h.tails.Wait()
	return nil
}
