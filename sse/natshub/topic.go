package natshub

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// topic is a topic with subscribers on this instance: its tail, which
// reads the topic's stream with an ordered consumer into a ring, and the
// subscribers, which read the ring. Its ring, changed, closed and err are
// guarded by mu; subscribers by the hub's lock.
type topic struct {
	mu      sync.RWMutex
	ring    ring
	changed chan struct{} // closed when events arrive or the tail ends
	closed  bool          // the tail has ended: no more events
	err     error         // why the tail ended early, if it failed
	closing bool          // Close was called: the tail ends once head reaches target
	target  uint64

	subscribers int
	stop        chan struct{} // closed when the last subscriber leaves
	closeCh     chan struct{} // closed by close
}

// The reasons that an sse.EventReset event gives, as sse.MemHub's.
const (
	resetTooOld  = "too-old"
	resetUnknown = "unknown"
)

// newTopic returns a topic whose tail starts with event start.
func newTopic(start uint64) *topic {
	return &topic{
		ring:    newRing(start),
		changed: make(chan struct{}),
		stop:    make(chan struct{}),
		closeCh: make(chan struct{}),
	}
}

// position returns the id of the first event to deliver to a client
// whose last event id is lastID, and a reset reason if the client must be
// told that it missed events, as sse.MemHub does: first and last are the
// stream's first and last sequence numbers, limit and cutoff the count
// and age of the events the hub replays.
func (t *topic) position(lastID string, first, last uint64, limit int, cutoff time.Time) (next uint64, reset string) {
	id, err := strconv.ParseUint(lastID, 10, 64)
	if err != nil {
		return last + 1, "" // no id, or a malformed one
	}
	if id > last {
		return last + 1, resetUnknown
	}
	oldest := first
	if last+1 > uint64(limit) {
		oldest = max(oldest, last+1-uint64(limit))
	}
	t.mu.RLock()
	kept := t.ring.oldest()
	for i := 0; i < t.ring.n && t.ring.at(i).at.Before(cutoff); i++ {
		kept++ // expired, even if not yet forgotten
	}
	t.mu.RUnlock()
	if id+1 < max(oldest, kept) {
		return last + 1, resetTooOld
	}
	return id + 1, ""
}

// close tells the tail to end once it has had event target, and the
// subscriptions to end with sse.ErrHubClosed after delivering it.
func (t *topic) close(target uint64) {
	t.mu.Lock()
	t.closing, t.target = true, target
	t.mu.Unlock()
	close(t.closeCh)
}

// drained reports whether the tail has had every event Close waits for.
func (t *topic) drained() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.closing && t.ring.head >= t.target
}

// end marks the tail as ended, for the reason err, and wakes the
// subscribers: after Close they end with sse.ErrHubClosed, otherwise with an
// error matching ErrUnavailable.
func (t *topic) end(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if !t.closing && err != nil {
		t.err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// runTail runs a topic's tail from event start on until the last
// subscriber leaves, Close has had its events, or the tail fails, and
// forgets the topic then, so that the next subscriber starts afresh.
func (h *Hub) runTail(name string, t *topic, stream string, start uint64) {
	defer h.tails.Done()
	err := h.follow(t, stream, start)
	if errors.Is(err, errDrained) {
		err = nil
	}
	t.end(err)
	h.mu.Lock()
	if h.topics[name] == t {
		delete(h.topics, name)
	}
	h.mu.Unlock()
}

// follow reads the stream from event start on into t's ring until t's
// last subscriber leaves (it returns nil), Close has had its events
// (errDrained) or the connection drops or reading fails (the error).
func (h *Hub) follow(t *topic, stream string, start uint64) error {
	nc := h.JetStream.Conn()
	status := nc.StatusChanged(nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)
	defer nc.RemoveStatusListener(status)
	if s := nc.Status(); s != nats.CONNECTED {
		return fmt.Errorf("connection %s", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	cons, err := h.JetStream.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		InactiveThreshold: consumerInactive,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("consumer of %s: %w", stream, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("consumer of %s: %w", stream, err)
	}
	read := make(chan error, 1)
	h.tails.Go(func() { read <- h.read(t, it) })
	stop := func(err error) error {
		it.Stop()
		<-read
		return err
	}

	closing := t.closeCh
	var drainTimeout <-chan time.Time
	for {
		select {
		case err := <-read:
			it.Stop()
			if errors.Is(err, errDrained) {
				return err
			}
			return fmt.Errorf("reading %s: %w", stream, err)
		case s := <-status:
			return stop(fmt.Errorf("connection %s", s))
		case <-t.stop:
			return stop(nil)
		case <-closing:
			closing = nil
			if t.drained() {
				return stop(errDrained)
			}
			d := h.DrainTimeout
			if d <= 0 {
				d = DefaultDrainTimeout
			}
			timer := time.NewTimer(d)
			defer timer.Stop()
			drainTimeout = timer.C
		case <-drainTimeout:
			return stop(errDrained)
		}
	}
}

// read adds the messages of it to t's ring, each framed once, until
// reading fails or Close has had its events (errDrained).
func (h *Hub) read(t *topic, it jetstream.MessagesContext) error {
	limit, age := h.replay(), h.replayAge()
	for {
		msg, err := it.Next()
		if err != nil {
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return err
		}
		seq := meta.Sequence.Stream
		f := decodeEvent(msg.Data(), strconv.FormatUint(seq, 10))
		t.mu.Lock()
		t.ring.expire(time.Now().Add(-age))
		t.ring.add(seq, f, meta.Timestamp, limit)
		close(t.changed)
		t.changed = make(chan struct{})
		drained := t.closing && t.ring.head >= t.target
		t.mu.Unlock()
		if drained {
			return errDrained
		}
	}
}
