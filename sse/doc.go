// Package sse streams Server-Sent Events to browsers' EventSource through
// a ginstream sink, true to the WHATWG HTML specification's event stream
// format, and broadcasts them by topic with resume after reconnects.
//
// An [EventWriter] streams the events its producers yield, with a retry field at
// once, heartbeats while silent, and an "error" event if a producer fails:
//
//	events := sse.EventWriter{Config: streams} // the app's sink.Config
//	r.GET("/clock", func(c *gin.Context) {
//		events.Stream(c, func(ctx context.Context, yield func(sse.Event) error) error {
//			for t := range time.Tick(time.Second) { // ends with the request: see below
//				if err := yield(sse.Event{Name: "tick", Data: t.Format(time.TimeOnly)}); err != nil {
//					return err
//				}
//			}
//			return nil
//		})
//	})
//
// yield returns an error once the client has gone, which ends the loop.
//
// An [Event] is encoded as "id:", "event:", "retry:" and "data:" fields
// ending in a blank line. A data value holding CR, LF or CRLF becomes
// several "data:" lines, which a browser's EventSource joins back with LF,
// so no payload can end an event early or forge a field. An id or event
// name that holds a line break (or an id holding NUL) cannot be framed and
// is rejected with an error rather than sent. [EventEncoder] and [FrameEncoder]
// are the sink.Encoders underneath, for a plain sink.Writer.
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
// [EventWriter.Subscribe] streams a hub's topic to a browser's EventSource,
// resuming after its Last-Event-ID, and ends with a "shutdown" event when
// the hub closes. Package hubtest is the conformance suite every Hub
// implementation must pass; package natshub is a Hub shared by several
// server instances through NATS JetStream.
package sse
