package sse

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// Frame is an [Event] together with its encoding as text/event-stream,
// made once and then shared. A hub encodes each published event once, into
// one Frame that it hands to every subscriber; each subscriber's
// [FrameEncoder] only copies the bytes into its response. A Frame is
// immutable and safe to share among goroutines; copying one copies a
// pointer.
//
// The cost model of a broadcast to N subscribers: one encoding and one
// allocation of the encoded bytes per event, then per subscriber a copy of
// those bytes into its write buffer and its share of the write and flush.
//
// The zero Frame is the zero Event, an empty message.
type Frame struct {
	f *frame
}

// frame is the shared body of a Frame.
type frame struct {
	event Event
	wire  []byte // the encoding, never modified once made
}

// NewFrame encodes e once, for sending to many clients. It fails, as
// [EventEncoder.Append] does, if e's id or name cannot be framed.
func NewFrame(e Event) (Frame, error) {
	wire, err := EventEncoder{}.Append(nil, e)
	if err != nil {
		return Frame{}, err
	}
	return Frame{&frame{event: e, wire: wire}}, nil
}

// mustFrame is NewFrame for events that this package builds, which are
// always framable.
func mustFrame(e Event) Frame {
	f, err := NewFrame(e)
	if err != nil {
		panic(err)
	}
	return f
}

// retryFrame returns a frame that sets the client's reconnection time and
// dispatches nothing: "retry: ms" and a blank line. [EventEncoder] always adds
// a data line, which would make the browser dispatch an empty message.
func retryFrame(d time.Duration) Frame {
	if d == DefaultRetry {
		return defaultRetryFrame
	}
	return newRetryFrame(d)
}

// defaultRetryFrame is the retry frame of the default retry time, which
// most streams open with: made once, as frames are shared.
var defaultRetryFrame = newRetryFrame(DefaultRetry)

// newRetryFrame makes the retry frame of d.
func newRetryFrame(d time.Duration) Frame {
	wire := strconv.AppendInt([]byte("retry: "), max(d.Milliseconds(), 1), 10)
	return Frame{&frame{event: Event{Retry: d}, wire: append(wire, "\n\n"...)}}
}

// Event returns the event the frame encodes.
func (f Frame) Event() Event {
	if f.f == nil {
		return Event{}
	}
	return f.f.event
}

// FrameEncoder writes [Frame] values as text/event-stream, for a
// sink.Writer[Frame]. Appending a frame copies its encoded bytes; it
// encodes nothing. It keeps no state and is safe for concurrent use.
//
// It is a sink.Epilogue: a stream that fails after it has started ends
// with an [EventError] event that tells the client, so that the response
// ends cleanly and EventSource reconnects after the event's retry time; a
// subscriber ended as too slow ([ErrSlowSubscriber]) gets no event and
// simply reconnects; a stream that reached its longest duration
// (sink.Config.MaxDuration) gets a retry field of Retry plus up to half of
// it at random, and reconnects then.
type FrameEncoder struct {
	// Retry is the reconnection time of the error event, plus up to half
	// of it at random. Zero means DefaultRetry.
	Retry time.Duration
}

// ContentType returns "text/event-stream".
func (FrameEncoder) ContentType() string { return EventEncoder{}.ContentType() }

// Append appends the frame's encoding to dst.
func (FrameEncoder) Append(dst []byte, f Frame) ([]byte, error) {
	if f.f == nil {
		return EventEncoder{}.Append(dst, Event{})
	}
	return append(dst, f.f.wire...), nil
}

// AppendEpilogue appends the [EventError] event that ends a failed stream,
// whose data is end.Message, and reports that the client is told.
func (e FrameEncoder) AppendEpilogue(dst []byte, end sink.End) ([]byte, bool) {
	retry := e.Retry
	if retry <= 0 {
		retry = DefaultRetry
	}
	switch {
	case end.Err == nil:
		return dst, true // EventWriter has sent its EventEnd
	case errors.Is(end.Err, ErrSlowSubscriber):
		return dst, true // the client reconnects and resumes
	case errors.Is(end.Err, sink.ErrMaxDuration):
		// Not a failure: the client is asked to come back, at a time of
		// its own so that clients do not all return at once, and resumes.
		return append(dst, retryFrame(jittered(retry)).f.wire...), true
	}
	out, err := EventEncoder{}.Append(dst, Event{Name: EventError, Retry: jittered(retry), Data: end.Message})
	if err != nil {
		return dst, false // cannot happen: the event's name and id are fixed
	}
	return out, true
}

// endFrame ends a stream whose producers finished.
var endFrame = mustFrame(Event{Name: EventEnd, Data: "completed"})

// framed adapts a producer of events to a producer of frames, encoding
// each event as it is yielded. An event that cannot be framed ends the
// producer with the encoder's error.
func framed(p generator.Func[Event]) generator.Func[Frame] {
	return func(ctx context.Context, yield func(Frame) error) error {
		return p(ctx, func(e Event) error {
			f, err := NewFrame(e)
			if err != nil {
				return err
			}
			return yield(f)
		})
	}
}
