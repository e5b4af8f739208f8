// Package sse frames Server-Sent Events for a ginstream sink, true to the
// WHATWG HTML specification's event stream format.
//
// An [Event] is encoded by [Encoder] as "id:", "event:", "retry:" and
// "data:" fields ending in a blank line. A data value holding CR, LF or
// CRLF becomes several "data:" lines, which a browser's EventSource joins
// back with LF, so no payload can end an event early or forge a field. An
// id or event name that holds a line break (or an id holding NUL) cannot
// be framed and is rejected with an error rather than sent.
//
//	w := sink.Writer[sse.Event]{Encoder: sse.Encoder{}}
//	w.Stream(c, producer) // producer yields sse.Event values
//
// # Broadcast
//
// A [Hub] ([MemHub] in memory) delivers events by topic: it assigns ids,
// keeps a bounded replay buffer (by count and age) so that a client that
// reconnects with Last-Event-ID receives what it missed, in order and never
// twice, tells a client whose id is too old to resume with a "reset" event,
// and applies a [Policy] to subscribers that fall behind, so that one slow
// subscriber never holds up the publisher or the others. Each published
// event is encoded once, as a [Frame] shared by every subscriber.
//
// [Writer] streams a hub's topic, or any producer of frames, to a browser's
// EventSource: it opens the stream at once with a retry field, sends
// heartbeat comments after a silence, an "error" event when a producer
// fails, and a "shutdown" event when the hub closes. Package hubtest is the
// conformance suite every Hub implementation must pass.
package sse
