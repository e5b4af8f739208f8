// Package sink writes the items of generator producers to a gin response,
// the second half of a ginstream pipeline (generator → sink → HTTP
// response).
//
//	r.GET("/stream/numbers", func(c *gin.Context) {
//		sink.Stream(c, sink.Lines[int]{}, generator.Count(100, 20*time.Millisecond))
//	})
//
// A [Writer] runs a lone producer on the handler's goroutine: yield encodes
// each item into a batch buffer, which is written when it reaches a byte
// budget, at once when the item follows a quiet spell of the producer, and
// otherwise within half a millisecond of its first byte, flushed: a fast
// producer gets large writes with no hand-off between goroutines, a slow
// one gets each item onto the wire as soon as it exists. Several producers
// run as goroutines feeding a bounded buffer (generator.Start), which the
// Writer drains through gin's Context.Stream: each step waits for the next
// item, encodes it, then encodes every item already waiting, up to the
// byte budget, and writes and flushes them at once.
//
// # Configuration
//
// The settings that every stream of an application shares — an admission
// [Limit], the stall and header timeouts, compression, a report hook for
// metrics and a logger — are one [Config], set up once and given to every
// Writer (which embeds it), to sse.EventWriter and to every handler of package
// handlers:
//
//	streams := sink.Config{Limit: sink.NewLimit(1000, 2*time.Second), OnReport: collector.Observe}
//	csv := &sink.Writer[[]string]{Encoder: sink.CSV{Header: header}, Config: streams}
//
// The zero value of every field is a documented default, so
// [Stream](c, encoder, producers...) works with no configuration at all.
//
// [Writer.StreamInline] is the other way to drain a producer: it runs one
// producer on the handler's goroutine and writes and flushes each item as
// it is yielded, with no goroutine and no buffer of its own. Each item then
// costs a write and a flush, so it is for producers that are idle most of
// the time, such as subscriptions to live events, where it makes an open
// stream cost little more than its connection (package sse uses it).
// [Writer.Open] is StreamInline without the producer's call: an
// [OpenStream] whose items any goroutine yields until the handler closes
// it, for a handler that only waits while others write (package sse's
// subscriptions to a MemHub, written by a pool of writers).
//
// # Backpressure and stalls
//
// A write blocks while the client does not read, so the producers block —
// a lone producer in the yield that writes, several on the full buffer — and
// memory stays bounded by the batch, the buffer's capacity and the socket
// buffers, however long the stream. Every batch is written under a
// write deadline (Writer.StallTimeout): a client that accepts nothing for
// that long ends the stream with outcome [Stalled]. A client that
// disconnects ends it with [ClientGone]. Either way the producers' context
// is cancelled and Stream returns only once every producer has returned.
//
// # Failures
//
// Failures are never silent. A producer error before the first byte gives
// an HTTP error whose status [StatusOf] takes from the error (404 for
// something missing, 400 for bad input, 500 otherwise) and a one-line body:
// the error's message for a client error, only the status and the request's
// id ([RequestIDHeader]) for a server error, whose text — a host, a query,
// a driver's message — goes to the log instead. [Writer.Fail] answers the
// same way for a handler that fails before it can stream.
// After bytes were sent the status can no longer change, so the Writer
// aborts the response: over HTTP/1.x it takes the connection from the
// server and resets it (a TCP RST, before the chunked body's terminating
// chunk: a FIN there is taken for a complete body by some clients); over
// HTTP/2 it sets the write deadline in the past, which makes the server
// reset the stream. A client sees a failed transfer (a connection or
// stream reset) rather than a clean end, whatever middleware is installed:
// the usual panic(http.ErrAbortHandler)
// would be swallowed by gin's Recovery, which ends such a response cleanly
// and so turns a failed export into a silently truncated file. An encoder
// whose format can say that a stream failed, such as Server-Sent Events'
// error event, implements [Epilogue]: the Writer then ends the stream with
// it instead. Every failure is logged with log/slog, recorded with gin's
// Context.Error and returned in the [Report]; a client that leaves is
// reported too (outcome [ClientGone]), but is not an error and is logged
// at Debug only.
//
// # Encoders
//
// An [Encoder] frames items: [Lines] for text lines, [Bytes] for chunks of
// raw bytes, [NDJSON] for JSON lines and [CSV] for comma-separated records
// with a header row and a guard against spreadsheet formula injection, on
// unless AllowFormulas is set.
//
// # Files
//
// config.go holds what streams share; writer.go how a stream starts and is
// admitted; buffered.go how Stream writes a lone producer's items; batch.go
// how it writes the batches of several producers; inline.go how StreamInline
// and an OpenStream write item by item; session.go how bytes reach the connection (headers,
// deadlines, flushes); end.go how a stream ends (epilogue, error status,
// abort); report.go and status.go what is reported, logged and answered.
package sink
