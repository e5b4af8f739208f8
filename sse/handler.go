package sse

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// Defaults for the zero values of [Writer]'s fields.
const (
	// DefaultRetry is the reconnection time a stream asks clients for.
	DefaultRetry = 3 * time.Second
	// DefaultHeartbeat is how long a stream may be silent before a
	// heartbeat comment is sent.
	DefaultHeartbeat = 15 * time.Second
)

// Writer streams Server-Sent Events to browsers' EventSource and other
// clients, through a sink.Writer. Its fields configure it; the zero value
// of each is a documented default, and a Writer is safe for concurrent use
// by many requests once set up.
//
// A stream opens at once with a retry field (the sink sends headers only
// with the first bytes, and EventSource reports the connection open only
// when they arrive), sends a heartbeat comment whenever it has been silent
// for the Heartbeat interval, and ends in one of these ways:
//
//   - the producers finish: the response ends;
//   - the hub is closed ([ErrClosed]): an [EventShutdown] event with a
//     retry field (Retry plus up to half of it at random, so that clients
//     do not all come back at once), and the response ends; the client
//     reconnects and resumes;
//   - a slow subscriber is disconnected ([ErrSlowSubscriber]): the
//     response ends, and the client reconnects and resumes; the report's
//     outcome is sink.Stalled;
//   - a producer fails: an [EventError] event whose data is the error's
//     message, with a retry field (Retry plus jitter, as for a shutdown,
//     so that after a failure many clients share, such as a message
//     broker going away, they do not all come back at once), and the
//     response ends; the report's outcome is sink.Failed and the failure
//     is logged and recorded with c.Error;
//   - the client goes away or stalls: as with any sink.Writer.
//
// A response that ends makes EventSource reconnect after its retry time;
// a page that does not want that closes its EventSource on EventError.
// Since the stream opens at once, a producer cannot fail it with an HTTP
// error status: check the request (the topic, the user's rights) before
// calling Stream or Subscribe. EventSource gives up for good on a status
// other than 200, which suits a topic that does not exist.
type Writer struct {
	// Retry is the reconnection time sent to the client when the stream
	// opens and, with jitter, when the hub shuts down or a producer
	// fails. Zero means
	// DefaultRetry.
	Retry time.Duration

	// Heartbeat is how long the stream may be silent before a comment is
	// sent, so that proxies keep the connection open and a dead client is
	// noticed. Zero means DefaultHeartbeat; a negative value sends none.
	Heartbeat time.Duration

	// Sink streams the frames, with [sink.Writer.StreamInline]: the
	// producers' frames are written as they come, with no buffer and no
	// goroutine between them and the response, so that an idle stream
	// costs little more than its connection. A nil Encoder means
	// [FrameEncoder]; Capacity, BatchBytes and HeaderTimeout are not used.
	Sink sink.Writer[Frame]
}

// LastEventID returns the id of the last event the client received: the
// Last-Event-ID header that EventSource sends when it reconnects or, for
// clients that cannot set headers, the lastEventId query parameter.
func LastEventID(c *gin.Context) string {
	if id := c.GetHeader("Last-Event-ID"); id != "" {
		return id
	}
	return c.Query("lastEventId")
}

// Subscribe streams a topic of h to the client, resuming after the
// client's [LastEventID]. The handler chooses the topic (and should check
// it, since MemHub makes a topic for any name); see [Writer.Stream].
func (w *Writer) Subscribe(c *gin.Context, h Hub, topic string) sink.Report {
	return w.Stream(c, Subscription(h, topic, LastEventID(c)))
}

// Stream streams the frames of producers to the client as an event stream
// and returns the report of the stream; see [Writer] for how it opens and
// ends. It returns when every producer has returned.
func (w *Writer) Stream(c *gin.Context, producers ...generator.Func[Frame]) sink.Report {
	s := w.Sink
	if s.Encoder == nil {
		s.Encoder = FrameEncoder{}
	}
	s.OnReport = nil // called below, with the report completed
	var ended error  // why the producers ended early, if they did
	r := s.StreamInline(c, w.producer(&ended, producers))
	if ended != nil && r.Err == nil {
		r.Err = ended
		r.Outcome = sink.Failed
		level := slog.LevelError
		if errors.Is(ended, ErrSlowSubscriber) {
			r.Outcome, level = sink.Stalled, slog.LevelWarn
		}
		_ = c.Error(ended)
		logger := w.Sink.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.LogAttrs(c.Request.Context(), level, "sse: stream ended early",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("outcome", r.Outcome.String()),
			slog.Int64("items", r.Items),
			slog.String("error", ended.Error()))
	}
	if w.Sink.OnReport != nil {
		w.Sink.OnReport(c, r)
	}
	return r
}

// producer wraps the producers in one that opens the stream, sends
// heartbeats and turns how they end into the events that tell the client.
// It sets *ended to an error that it has told the client about and that
// the response does not show.
func (w *Writer) producer(ended *error, producers []generator.Func[Frame]) generator.Func[Frame] {
	retry, interval := w.Retry, w.Heartbeat
	if retry <= 0 {
		retry = DefaultRetry
	}
	if interval == 0 {
		interval = DefaultHeartbeat
	}
	run := generator.Merge(producers...)
	if len(producers) == 1 {
		run = producers[0] // without Merge's goroutine
	}
	return func(ctx context.Context, yield func(Frame) error) error {
		if err := yield(retryFrame(retry)); err != nil {
			return err
		}
		send := yield
		if interval > 0 {
			hb := startHeartbeat(interval, yield)
			defer hb.stop()
			send = hb.send
		}
		err := runGuarded(ctx, run, send)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return err // the client is gone, or stalled: nothing to tell
		case errors.Is(err, ErrClosed):
			return send(mustFrame(Event{Name: EventShutdown, Retry: jittered(retry), Data: "the server is shutting down"}))
		case errors.Is(err, ErrSlowSubscriber):
			*ended = err
			return nil
		}
		*ended = err
		return send(mustFrame(Event{Name: EventError, Retry: jittered(retry), Data: err.Error()}))
	}
}

// jittered returns retry plus up to half of it at random, so that clients
// told to come back do not all come back at once.
func jittered(retry time.Duration) time.Duration {
	return retry + time.Duration(rand.Int64N(int64(retry/2)+1))
}

// runGuarded runs p, turning a panic into a *generator.PanicError as the
// generator would, so that the client can be told about it.
func runGuarded(ctx context.Context, p generator.Func[Frame], yield func(Frame) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &generator.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return p(ctx, yield)
}
