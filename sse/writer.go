package sse

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/internal/rawquery"
	"github.com/ginstream/ginstream/sink"
)

// Defaults for the zero values of [EventWriter]'s fields.
const (
	// DefaultRetry is the reconnection time a stream asks clients for.
	DefaultRetry = 3 * time.Second
	// DefaultHeartbeat is how long a stream may be silent before a
	// heartbeat comment is sent.
	DefaultHeartbeat = 15 * time.Second
)

// EventWriter streams Server-Sent Events to browsers' EventSource and other
// clients. Its fields configure it; the zero value of each is a documented
// default, and an EventWriter is safe for concurrent use by many requests once
// set up.
//
//	events := sse.EventWriter{Config: streams} // the app's sink.Config
//	r.GET("/clock", func(c *gin.Context) {
//		events.Stream(c, func(ctx context.Context, yield func(sse.Event) error) error {
//			…yield(sse.Event{Name: "tick", Data: time.Now().Format(time.TimeOnly)})…
//		})
//	})
//
// A stream opens at once with a retry field (EventSource reports the
// connection open only when the headers arrive), sends a heartbeat comment
// whenever it has been silent for the Heartbeat interval, and ends in one
// of these ways:
//
//   - the producers finish: an [EventEnd] event, and the response ends
//     (a page closes its EventSource on it, or it reconnects); a producer
//     that yields a frame named EventEnd itself (with data of its own,
//     such as how a job ended) has told the client, and the stream then
//     ends without a second one;
//   - the hub is closed ([ErrHubClosed]): an [EventShutdown] event with a
//     retry field (Retry plus up to half of it at random, so that clients
//     do not all come back at once), and the response ends; the client
//     reconnects and resumes;
//   - a slow subscriber is disconnected ([ErrSlowSubscriber]): the
//     response ends, and the client reconnects and resumes; the report's
//     outcome is sink.Stalled;
//   - a producer fails: an [EventError] event with a retry field (Retry
//     plus jitter, as for a shutdown, so that after a failure many
//     clients share, such as a message broker going away, they do not all
//     come back at once), and the response ends; the event's data is the
//     error's message for a client error (sink.StatusOf 4xx), only the
//     status text and request id for a server error, whose detail goes to
//     the log; the report's outcome is sink.Failed;
//   - the client goes away or stalls: as with any sink.Writer.
//
// A response that ends makes EventSource reconnect after its retry time;
// a page that does not want that closes its EventSource on EventError.
// Since the stream opens at once, a producer cannot fail it with an HTTP
// error status: check the request (the topic, the user's rights) before
// calling Stream or Subscribe. EventSource gives up for good on a status
// other than 200, which suits a topic that does not exist.
//
// Events are written as they are yielded, each flushed, with no buffer and
// no goroutine between the producer and the response
// (sink.Writer.StreamInline), so that an idle stream costs little more
// than its connection; a subscription to a [MemHub] has its events written
// by a pool of writers, so that its handler's goroutine, which only waits,
// costs less still (see [EventWriter.Subscribe]).
type EventWriter struct {
	// Retry is the reconnection time sent to the client when the stream
	// opens and, with jitter, when the hub shuts down or a producer
	// fails. Zero means DefaultRetry.
	Retry time.Duration

	// Heartbeat is how long the stream may be silent before a comment is
	// sent, so that proxies keep the connection open and a dead client is
	// noticed. Zero means DefaultHeartbeat; a negative value sends none.
	Heartbeat time.Duration

	// Config holds the settings every stream shares: admission limit,
	// stall timeout, compression, report hook and logger. Its
	// HeaderTimeout does not matter here: an event stream sends its
	// headers at once.
	sink.Config
}

// LastEventID returns the id of the last event the client received: the
// Last-Event-ID header that EventSource sends when it reconnects or, for
// clients that cannot set headers, the lastEventId query parameter.
func LastEventID(c *gin.Context) string {
	if id := c.GetHeader("Last-Event-ID"); id != "" {
		return id
	}
	// Not c.Query, which keeps the parsed query string in the Context for
	// as long as the stream is open: 0.3–0.4 KiB more per idle stream; and
	// not URL.Query, whose map is garbage left among what the stream
	// keeps. As URL.Query does, a malformed query string's other
	// parameters are read.
	id, _, _ := rawquery.Get(c.Request.URL.RawQuery, "lastEventId")
	return id
}

// Stream streams the events of producers to the client and returns the
// report of the stream; see [EventWriter] for how it opens and ends. The
// producers run concurrently, their events interleaved, and Stream returns
// when every one has returned. An event that cannot be framed (an id or
// name holding a line break) fails the stream.
func (w *EventWriter) Stream(c *gin.Context, producers ...generator.Func[Event]) sink.Report {
	frames := make([]generator.Func[Frame], len(producers))
	for i, p := range producers {
		frames[i] = framed(p)
	}
	return w.streamFrames(c, frames)
}

// Subscribe streams a topic of h to the client, resuming after the
// client's [LastEventID] (see [Hub.Subscribe]), until the client leaves or
// the hub closes. The handler chooses the topic, and should check it, since
// MemHub makes a topic for any name.
//
// A subscription to a [MemHub] is written by a pool of writers that all
// such streams share, while the handler's goroutine only waits (see
// writers): an idle subscriber then costs about 6 KiB less. Other hubs'
// events are written from the handler's goroutine.
func (w *EventWriter) Subscribe(c *gin.Context, h Hub, topic string) sink.Report {
	if mh, ok := h.(*MemHub); ok {
		return w.subscribePooled(c, mh, topic)
	}
	return w.streamFrames(c, subscription(c, h, topic))
}

// subscription returns the producer of c's subscription to a topic of h.
func subscription(c *gin.Context, h Hub, topic string) []generator.Func[Frame] {
	lastEventID := LastEventID(c)
	return []generator.Func[Frame]{func(ctx context.Context, yield func(Frame) error) error {
		return h.Subscribe(ctx, topic, lastEventID, yield)
	}}
}

// StreamFrames is [EventWriter.Stream] for producers of frames: events encoded
// once, as a hub does, to be sent to many clients.
func (w *EventWriter) StreamFrames(c *gin.Context, producers ...generator.Func[Frame]) sink.Report {
	return w.streamFrames(c, producers)
}

// streamFrames streams the frames of producers as an event stream. Its
// frame, as its callers', stays on the stack under every write of the
// stream: the sink.Writer and the producer are made in inline.
func (w *EventWriter) streamFrames(c *gin.Context, producers []generator.Func[Frame]) sink.Report {
	s, p := w.inline(producers)
	return s.StreamInline(c, p)
}

// inline returns the sink.Writer of a stream and its producer: the
// producers wrapped in the stream's opening, heartbeats and end.
func (w *EventWriter) inline(producers []generator.Func[Frame]) (*sink.Writer[Frame], generator.Func[Frame]) {
	retry := w.retry()
	return w.sinkWriter(retry), w.producer(retry, producers)
}

// sinkWriter returns the sink.Writer of a stream whose retry time is
// retry.
func (w *EventWriter) sinkWriter(retry time.Duration) *sink.Writer[Frame] {
	enc := defaultFrameEncoder
	if retry != DefaultRetry {
		enc = FrameEncoder{Retry: retry}
	}
	return &sink.Writer[Frame]{Encoder: enc, Config: w.Config}
}

// defaultFrameEncoder is the encoder of streams with the default retry
// time, converted to an interface once: every stream shares it, rather
// than each holding a copy of its own, one more object to fetch from
// memory for every event.
var defaultFrameEncoder sink.Encoder[Frame] = FrameEncoder{Retry: DefaultRetry}

// retry returns the retry time in force.
func (w *EventWriter) retry() time.Duration {
	if w.Retry <= 0 {
		return DefaultRetry
	}
	return w.Retry
}

// producer wraps the producers in one that opens the stream, sends
// heartbeats and ends a stream with an end event when the producers finish
// (unless one of them sent its own) and with a shutdown event when the hub
// closes. How a failure is told is the encoder's epilogue.
func (w *EventWriter) producer(retry time.Duration, producers []generator.Func[Frame]) generator.Func[Frame] {
	interval := w.heartbeatInterval()
	run := generator.Merge(producers...)
	if len(producers) == 1 {
		run = producers[0] // without Merge's goroutine
	}
	return func(ctx context.Context, yield func(Frame) error) error {
		// The opening write, the deepest of the stream, runs on a
		// goroutine of its own (the sink's), so that this goroutine's
		// stack stays small while the stream waits for events.
		if err := yield(retryFrame(retry)); err != nil {
			return err
		}
		st := &inlineStream{eventStream: eventStream{silence: silence{yield: yield}}}
		if interval > 0 {
			st.hb.begin(&st.silence, interval)
			defer st.hb.stop()
		}
		// Not through run.Call: the sink calls this producer through
		// Call, which recovers a panic of run too, on this goroutine,
		// with one frame less under every write.
		err := run(ctx, st.send)
		return ending(ctx, err, st.ended.Load(), st.silence.send, retry)
	}
}

// eventStream is what a stream keeps while its events are written: its
// silence, for heartbeats, and whether a producer yielded an EventEnd of
// its own. It is one object, so that each event's yield touches one line
// of memory for it: with thousands of subscribers, each wakes with its
// state cold in the cache.
type eventStream struct {
	ended   atomic.Bool
	silence // its fields that send reads first: both in one line
}

// send yields f through the silence, noting an EventEnd.
func (st *eventStream) send(f Frame) error {
	if f.f != nil && f.f.event.Name == EventEnd {
		st.ended.Store(true)
	}
	return st.silence.send(f)
}

// inlineStream is the eventStream of a stream written from its producer's
// goroutine, with the timer of its heartbeats.
type inlineStream struct {
	eventStream
	hb heartbeat
}

// ending sends what ends a stream whose producers returned err: an end
// event when they finished (unless one of them sent its own) and a
// shutdown event when the hub closed.
func ending(ctx context.Context, err error, ended bool, send func(Frame) error, retry time.Duration) error {
	switch {
	case err == nil && ended:
		return nil
	case err == nil:
		return send(endFrame)
	case errors.Is(err, ErrHubClosed) && ctx.Err() == nil:
		return send(mustFrame(Event{Name: EventShutdown, Retry: jittered(retry), Data: "the server is shutting down"}))
	}
	return err
}

// jittered returns retry plus up to half of it at random, so that clients
// told to come back do not all come back at once.
func jittered(retry time.Duration) time.Duration {
	return retry + time.Duration(rand.Int64N(int64(retry/2)+1))
}
