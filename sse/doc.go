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
package sse
