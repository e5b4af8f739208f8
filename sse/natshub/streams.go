// The JetStream streams behind the topics: names, creation, the state of
// the connection.

package natshub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ginstream/ginstream/sse"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// names returns the stream and subject of a topic.
func (h *Hub) names(topic string) (names, error) {
	p := h.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	if !validPrefix(p) {
		return names{}, fmt.Errorf("natshub: prefix %q: want ASCII letters, digits and '-'", p)
	}
	return topicNames(p, topic)
}

// usable returns ErrClosed once the hub is closed, or an error matching
// ErrUnavailable while the client is not connected.
func (h *Hub) usable() error {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return sse.ErrHubClosed
	}
	if s := h.JetStream.Conn().Status(); s != nats.CONNECTED {
		return fmt.Errorf("%w: connection %s", ErrUnavailable, s)
	}
	return nil
}

// brokerError wraps an error of a JetStream request: the cause of ctx if
// it is done, otherwise ErrUnavailable and the error.
func brokerError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
}

// streamConfig returns the configuration of a new topic's stream. Its
// first sequence number is the time in microseconds since 1970, as
// sse.MemHub's ids start: ids from a stream of the same name that was
// deleted (or lost with a NATS server's memory) are lower than any of the
// new stream's, so that a client resuming with one gets a reset.
func (h *Hub) streamConfig(n names, topic string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        n.stream,
		Description: "Server-Sent Events of topic " + strconv.Quote(shorten(topic)),
		Subjects:    []string{n.subject},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxMsgs:     int64(h.replay()),
		MaxAge:      h.replayAge(),
		Storage:     h.Storage,
		Replicas:    max(h.Replicas, 1),
		FirstSeq:    uint64(max(time.Now().UnixMicro(), 1)),
	}
}

// stream returns the current state of a topic's stream, creating the
// stream if it does not exist.
func (h *Hub) stream(ctx context.Context, n names, topic string) (*jetstream.StreamInfo, error) {
	s, err := h.JetStream.Stream(ctx, n.stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = h.JetStream.CreateStream(ctx, h.streamConfig(n, topic))
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = h.JetStream.Stream(ctx, n.stream) // another instance made it first
		}
	}
	if err != nil {
		h.forgetStream(topic)
		return nil, brokerError(ctx, "stream "+n.stream, err)
	}
	h.mu.Lock()
	if h.streams == nil {
		h.streams = make(map[string]bool)
	}
	h.streams[topic] = true
	h.mu.Unlock()
	return s.CachedInfo(), nil
}

// forgetStream forgets that a topic's stream exists, so that the next
// Publish looks it up (and creates it) again.
func (h *Hub) forgetStream(topic string) {
	h.mu.Lock()
	delete(h.streams, topic)
	h.mu.Unlock()
}
