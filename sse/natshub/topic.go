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

	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/sse/internal/topiclog"
)

// topic is a topic with subscribers on this instance: its tail, which
// reads the topic's stream with an ordered consumer into the topic's log,
// and the subscribers, which read the log. Its closing and target are
// guarded by mu; subscribers by the hub's lock.
type topic struct {
	log *topiclog.Log[sse.Frame] // this instance's copy of the stream's newest events

	mu      sync.Mutex
	closing bool // Close was called: the tail ends once the log has target
	target  uint64

	subscribers int
	stop        chan struct{} // closed when the last subscriber leaves
	closeCh     chan struct{} // closed by close
}

// newTopic returns a topic whose tail starts with event start.
func newTopic(c topiclog.Config[sse.Frame], start uint64) *topic {
	return &topic{
		log:     topiclog.New(c, start),
		stop:    make(chan struct{}),
		closeCh: make(chan struct{}),
	}
}

// resetFrame is the sse.EventReset event that tells a subscriber it
// missed events, for the reason given, and resumes from the id newest.
func resetFrame(reason string, newest uint64) sse.Frame {
	f, _ := sse.NewFrame(sse.Event{ID: strconv.FormatUint(newest, 10), Name: sse.EventReset, Data: reason}) // always framable
	return f
}

// missedFrame is the sse.EventMissed event that tells a slow subscriber
// that it missed n events.
func missedFrame(n uint64) sse.Frame {
	f, _ := sse.NewFrame(sse.Event{Name: sse.EventMissed, Data: strconv.FormatUint(n, 10)}) // always framable
	return f
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
	t.mu.Lock()
	closing, target := t.closing, t.target
	t.mu.Unlock()
	return closing && t.log.Head() >= target
}

// end closes the log once the tail has ended, for the reason err: after
// Close, or with no error, subscribers end with sse.ErrHubClosed once they
// have what it has read; otherwise with an error matching ErrUnavailable.
func (t *topic) end(err error) {
	t.mu.Lock()
	closing := t.closing
	t.mu.Unlock()
	if closing || err == nil {
		t.log.Close(sse.ErrHubClosed)
	} else {
		t.log.Close(fmt.Errorf("%w: %w", ErrUnavailable, err))
	}
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

// follow reads the stream from event start on into t's log until t's
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

// read appends the messages of it to t's log, each framed once, until
// reading fails or Close has had its events (errDrained).
func (h *Hub) read(t *topic, it jetstream.MessagesContext) error {
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
		t.log.Append(seq, decodeEvent(msg.Data(), strconv.FormatUint(seq, 10)), meta.Timestamp)
		if t.drained() {
			return errDrained
		}
	}
}
