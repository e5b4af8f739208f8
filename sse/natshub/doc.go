// Package natshub is an sse.Hub backed by NATS JetStream, for gin servers
// that run as several instances behind a load balancer: an event
// published through any instance reaches the subscribers of every
// instance, and a browser whose EventSource reconnects to another
// instance resumes there from its Last-Event-ID, nothing missed and
// nothing twice.
//
//	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
//	js, err := jetstream.New(nc)
//	hub := &natshub.Hub{JetStream: js}
//	defer nc.Close()   // after hub.Close
//	defer hub.Close()
//	r.GET("/events", func(c *gin.Context) { events.Subscribe(c, hub, "news") })
//
// It passes the conformance suite of package sse/hubtest, as sse.MemHub
// does, and so works with sse.EventWriter and the handlers of package handlers
// unchanged.
//
// # Topics, streams and ids
//
// Each topic is a JetStream stream of its own, named Prefix_topic, with
// one subject, Prefix.topic (a topic's bytes other than ASCII letters and
// digits are escaped as _XX). The hub creates a stream the first time it
// publishes to or subscribes to its topic, with limits retention: MaxMsgs
// is Replay and MaxAge is ReplayAge, so JetStream forgets old events as
// sse.MemHub does. An event's id is its stream sequence number, which
// JetStream assigns, so every instance gives an event the same id; and
// since a topic has a stream of its own, a topic's ids go up by exactly
// one per event, as sse.MemHub's do. (One stream for all topics would
// leave gaps in each topic's ids, which clients such as the demo's page
// take for missed events, and would make one topic's traffic push
// another's events out of the replay.)
//
// A new stream's first sequence number is the time in microseconds since
// 1970, as sse.MemHub's ids start, so that the ids of a stream deleted
// and made again (or lost with a NATS server that kept it in memory) are
// below the new stream's: a client resuming with one gets an
// sse.EventReset event ("too-old"), never the wrong events. An id above
// the stream's last sequence number gets a reset too ("unknown"), and so
// does an id older than the events kept.
//
// # One copy per instance
//
// Subscribe looks up the stream's first and last sequence numbers (a
// round trip to NATS), which place the subscriber, and then reads from
// its instance's copy of the topic: while a topic has subscribers on an
// instance, one ordered consumer (ephemeral, with flow control) reads the
// topic's stream into a ring of its newest Replay events, each framed
// once (an sse.Frame) and shared by every subscriber of the instance, as
// sse.MemHub shares its frames. The consumer starts with the newest
// events the stream keeps, so a client resuming on any instance is
// replayed from memory. So an event costs NATS one message per instance
// with subscribers, however many subscribers each has, and Publish costs
// one round trip to NATS for the stream's acknowledgement. A slow
// subscriber is handled by Policy, as in sse.MemHub: it never holds up
// the consumer or the other subscribers. When a topic's last subscriber
// on an instance leaves, the instance stops its consumer and forgets its
// copy.
//
// # When NATS goes away
//
// Publish and Subscribe fail at once with an error matching
// [ErrUnavailable] while the client is not connected. A running
// subscription ends with such an error, after delivering the events that
// had arrived, as soon as the connection drops; sse.EventWriter then sends the
// client an "error" event with the message, and the response ends. A
// browser's EventSource reconnects after the retry time the stream
// opened with (sse.EventWriter.Retry), unless the page closes it on that
// event. Once the client has reconnected to NATS (give the connection
// nats.MaxReconnects(-1) so it never gives up), new subscriptions and
// Publish work again, and a client resuming from its Last-Event-ID gets
// what it missed if the stream kept it (JetStream file storage, the
// default, keeps it across NATS restarts).
//
// A Publish whose acknowledgement is lost (the connection dropped after
// NATS stored the event) reports an error although the event was
// published; publishing it again publishes it twice, with two ids.
//
// # Lifetime
//
// A Hub starts, per topic with subscribers, one goroutine that follows
// the topic's consumer and one that reads its messages; they end when the
// topic's last subscriber leaves, when the connection drops, or at Close,
// which waits for them. Close does not close the NATS connection, nor
// delete any stream: other instances go on using them.
package natshub
