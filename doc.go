// Package ginstream streams generated content through the gin web
// framework with bounded memory, backpressure and failures the client can
// see.
//
// Data flows in one direction:
//
//	producers ──yield──▶ bounded buffer ──batches──▶ encoder ──▶ gin's c.Stream ──▶ client
//	 (package generator)                             (package sink)
//
// Package [github.com/ginstream/ginstream/generator] runs producer functions
// in an errgroup that feeds one bounded buffer: a producer blocks while the
// buffer is full, so a slow client slows the producer instead of growing
// memory. Package [github.com/ginstream/ginstream/sink] drains the buffer
// into the response, flushing once per batch, ends the stream when the
// client leaves or stalls, and turns every failure into an error status or
// a detectably failed transfer. For a producer that is idle most of the
// time, such as a subscription to live events, sink.Writer.StreamInline
// runs it on the handler's goroutine instead and writes each item as it
// comes, with no buffer in between; package
// [github.com/ginstream/ginstream/sse] streams Server-Sent Events that way.
//
// A handler that streams the numbers 1 to 100, one every 20 ms:
//
//	r.GET("/stream/numbers", func(c *gin.Context) {
//		sink.Stream(c, sink.Lines[int]{}, generator.Count(100, 20*time.Millisecond))
//	})
//
// This package holds no code; its tests run the whole pipeline through a
// real gin server over HTTP/1.1 and HTTP/2.
package ginstream
