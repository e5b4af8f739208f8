package sse

import (
	"context"
	"errors"
	"fmt"

	"github.com/ginstream/ginstream/sink"
)

// Hub broadcasts events, by topic, to every subscriber of the topic, and
// keeps the recent ones so that a client that reconnects with the id of the
// last event it received gets the events it missed. [MemHub] keeps them in
// memory, for one server process; a hub backed by a message broker, which
// lets several server processes share events, implements the same
// contract, checked by the tests of package hubtest.
//
// Every event gets an id from the hub: a decimal number, increasing within
// its topic. The events a hub delivers with a name of its own are named by
// [EventReset] and [EventMissed].
type Hub interface {
	// Publish gives e the topic's next id (replacing any ID it has), keeps
	// it for replay and delivers it to the topic's subscribers, and returns
	// it with its id. It never waits for subscribers. It fails if ctx is
	// done, if the hub is closed ([ErrHubClosed]) or if e cannot be framed
	// ([ErrNameLineBreak]); nothing is published then.
	Publish(ctx context.Context, topic string, e Event) (Event, error)

	// Subscribe calls yield with the frames of the topic's events, in the
	// order of their ids, until ctx is done, yield returns an error, the
	// subscriber falls behind (see [Policy]) or the hub is closed, and
	// returns why: context.Cause(ctx), yield's error, an error matching
	// [ErrSlowSubscriber], or [ErrHubClosed] once every event published
	// before Close has been delivered. It calls yield on the goroutine
	// that called it, one frame at a time.
	//
	// With the lastEventID of an event the topic still keeps, Subscribe
	// first delivers the events published after that one, then every later
	// event, without a gap or a duplicate between the two, however they
	// race with Publish. With an empty or malformed lastEventID (anything
	// but a decimal number) it delivers only events published after it was
	// called. With an id the hub no longer keeps (too old, or from another
	// epoch of the hub, such as before a restart) or has never issued, it
	// first delivers an [EventReset] event, whose id is that of the
	// topic's newest event, so that the client knows it missed events, and
	// then the events published after it was called.
	//
	// The replay is what the topic kept when Subscribe was called: events
	// published meanwhile do not push it out, and it never makes the
	// subscriber slow. A hub that copies its topics from a broker may
	// find the broker has dropped one before its copy had it; it then
	// delivers an EventReset whose id is that of the event before the
	// oldest it still has, and goes on from there.
	Subscribe(ctx context.Context, topic, lastEventID string, yield func(Frame) error) error

	// Close ends every subscription: each delivers the events published
	// before Close and then returns ErrHubClosed. Publish and Subscribe
	// return ErrHubClosed after Close. Close does not wait for the
	// subscriptions to return. It is idempotent.
	Close() error
}

// The names of events that a hub or a [EventWriter] sends on its own.
const (
	// EventReset tells a client that resumed with a Last-Event-ID that
	// the events it missed are no longer kept (or that the id is
	// unknown): it should reload its state. Its data says why: "too-old"
	// or "unknown". Its id is that of the topic's newest event, from
	// which the client resumes if it reconnects.
	EventReset = "reset"
	// EventMissed tells a subscriber that fell behind, under the
	// [DropOldest] policy, that its oldest queued events were dropped.
	// Its data is their number, in decimal.
	EventMissed = "missed"
	// EventError ends a stream whose producer failed after the stream
	// had started. Its data is the error's message, for the page to show;
	// it carries a retry field that tells the client how long to wait
	// before reconnecting.
	EventError = "error"
	// EventEnd ends a stream whose producers finished, so that a client
	// can tell a complete stream from a cut one, and a page can close its
	// EventSource instead of reconnecting. Its data is "completed" when
	// [EventWriter] sends it; a producer may yield an EventEnd of its own,
	// with data that says more (package runs sends the run's final state),
	// and the EventWriter then sends no other.
	EventEnd = "end"
	// EventShutdown ends a stream when the hub is closed, for instance
	// because the server is shutting down. It carries a retry field that
	// tells the client how long to wait before reconnecting.
	EventShutdown = "shutdown"
)

// Errors with which a subscription ends.
var (
	// ErrHubClosed reports that the hub is closed.
	ErrHubClosed = errors.New("sse: hub closed")
	// ErrSlowSubscriber reports a subscriber that fell further behind
	// than the hub's buffer allows, under the [Disconnect] policy. The
	// client should reconnect and resume from its Last-Event-ID.
	// It matches sink.ErrStalled, so that the stream's outcome is
	// sink.Stalled.
	ErrSlowSubscriber = fmt.Errorf("sse: subscriber too slow: %w", sink.ErrStalled)
)

// Policy says what a hub does with a subscriber that falls further behind
// the newest event than its buffer allows, so that a slow subscriber never
// holds up the publisher or the other subscribers.
type Policy int

// The policies for a slow subscriber.
const (
	// Disconnect ends the subscription with [ErrSlowSubscriber]. A
	// browser's EventSource then reconnects and resumes from its
	// Last-Event-ID, receiving the events it missed from the replay
	// buffer. It is the default.
	Disconnect Policy = iota
	// DropOldest drops the subscriber's oldest queued events and then
	// delivers an [EventMissed] event saying how many it missed, followed
	// by the events it kept.
	DropOldest
)
