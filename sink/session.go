package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/internal/ownstack"
)

// session is the state of one stream: how its bytes reach the client.
// The batch loop (batch.go) and inline writing (inline.go) fill it; end.go
// settles how it ended.
//
// The fields every item's write reads come first, so that they share the
// first lines of the struct: an event stream's session is cold in the
// cache whenever one of thousands of subscribers wakes for an event, and
// every line it touches then costs a fetch from memory.
type session[T any] struct {
	mu         sync.Mutex // StreamInline's: serializes yields and the header timer
	opened     bool       // headers set, compression and preamble begun
	yieldDone  bool       // StreamInline's producer has returned, or the OpenStream is closed
	connFailed bool       // a write failed: the client left or stalled
	mustPanic  bool       // the response can only be aborted by a panic
	openStream bool       // opened by Writer.Open: items are yielded from others' goroutines
	http1      bool       // the request came over HTTP/1.x
	w          *Writer[T]
	enc        Encoder[T] // w.Encoder, read here by every item
	c          *gin.Context
	err        error // why the stream stopped; io.EOF when the producers finished
	buf        []byte
	stall      time.Duration           // negative: no stall timeout
	deadlineAt time.Time               // the write deadline set; zero if none
	comp       compressor              // compresses the body; nil if it is sent as is
	rc         http.ResponseController // for the writer under gin's
	report     Report
	req        context.Context // the request's: done when the client leaves

	cancel      context.CancelCauseFunc
	group       *generator.Group[T] // Stream's producers; nil for StreamInline
	budget      int
	batch       []T             // the items received last
	next        int             // index in batch of the first item not yet encoded
	counter     *countingWriter // counts compressed bytes written
	outcome     Outcome         // how the stream stopped
	start       time.Time
	slot        admission       // the stream's place in the Limit; zero if none is held
	stopHeaders func()          // StreamInline's: stops the header timer
	ctx         context.Context // StreamInline's and Open's: nil until streamContext makes it
}

// open prepares the response for the first bytes: headers, compression,
// and the encoder's preamble, if it has one, into buf.
func (s *session[T]) open() error {
	s.opened = true
	s.setHeaders()
	if s.w.Compress {
		if coding := setCompression(s.c.Writer.Header(), s.c.Request); coding != "" {
			s.counter = &countingWriter{w: s.c.Writer}
			s.comp = newCompressor(coding, s.counter)
		}
	}
	if pre, ok := s.w.Encoder.(Preamble); ok {
		var err error
		if s.buf, err = pre.AppendPreamble(s.buf); err != nil {
			return err
		}
	}
	return nil
}

// sendHeaders writes the headers, with whatever is in buf (the encoder's
// preamble), and flushes, for a stream whose first item is late.
func (s *session[T]) sendHeaders(out io.Writer) {
	if len(s.buf) > 0 {
		s.write(out)
		return
	}
	// On a goroutine of its own: net/http writes the headers in a frame
	// of 2.8 KB, which on the handler's goroutine, below gin, the handler
	// and the sink, would grow its stack from 8 to 16 KiB for as long as
	// the stream then waits for its next item (a paced stream, an idle
	// event stream).
	ownstack.Run(func() {
		s.c.Writer.WriteHeaderNow()
		s.c.Writer.Flush()
	})
}

// release returns what the session borrowed from pools.
func (s *session[T]) release() {
	if s.comp != nil {
		s.comp.release()
	}
}

// setHeaders sets the headers of a streamed response.
func (s *session[T]) setHeaders() {
	h := s.c.Writer.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", s.w.Encoder.ContentType())
	}
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
}

// write writes and flushes buf under the stall deadline. While batches
// follow each other without a wait, the deadline is moved only when less
// than 3/4 of the stall timeout is left, since setting it costs a round
// trip to the connection's goroutine on HTTP/2.
func (s *session[T]) write(out io.Writer) bool {
	return s.send(out, true)
}

// send writes buf under the stall deadline, as write does, and flushes it
// if flush is set. A compressed batch is always flushed out of the
// compressor.
func (s *session[T]) send(out io.Writer, flush bool) bool {
	if !s.c.Writer.Written() && !s.openStream { // the headers go with it: see sendHeaders
		var ok bool
		ownstack.Run(func() { ok = s.sendNow(out, flush) })
		return ok
	}
	return s.sendNow(out, flush)
}

// sendNow is send on the caller's goroutine.
func (s *session[T]) sendNow(out io.Writer, flush bool) bool {
	if s.stall > 0 {
		now := time.Now()
		if s.deadlineAt.IsZero() || s.deadlineAt.Sub(now) < s.stall*3/4 {
			s.setDeadline(now.Add(s.stall))
		}
	}
	var n int
	var err error
	if s.comp != nil {
		before := s.counter.n
		if _, err = s.comp.Write(s.buf); err == nil {
			err = s.comp.Flush() // the batch leaves the compressor now
		}
		n = int(s.counter.n - before)
	} else {
		n, err = out.Write(s.buf)
	}
	s.report.Bytes += int64(n)
	s.buf = s.buf[:0]
	if err == nil && flush {
		s.c.Writer.Flush() // through any middleware's writer, which may buffer
		err = s.rc.Flush() // reports what gin's Flush does not
		s.report.Flushes++
	}
	if err != nil {
		s.writeFailed(err)
		return false
	}
	return true
}

// writeFailed records why a write failed: a stall if it ran into the
// deadline, otherwise a client that went away.
func (s *session[T]) writeFailed(err error) {
	s.connFailed = true
	if !s.deadlineAt.IsZero() && !time.Now().Before(s.deadlineAt) {
		s.outcome, s.err = Stalled, fmt.Errorf("%w: %w", ErrStalled, err)
	} else {
		s.outcome, s.err = ClientGone, fmt.Errorf("%w: %w", ErrClientGone, err)
	}
}

// setDeadline sets the response's write deadline; t zero clears it.
func (s *session[T]) setDeadline(t time.Time) {
	s.deadlineAt = t
	if err := s.rc.SetWriteDeadline(t); errors.Is(err, http.ErrNotSupported) {
		s.stall = -1 // this writer cannot stall-protect; carry on without
		s.deadlineAt = time.Time{}
	}
}

// idle readies the connection for a wait of any length for the next item.
// Over HTTP/2 (and later versions) the write deadline is a timer that
// resets the stream when it fires, even with no write under way, so it is
// cleared. Over HTTP/1.1 it only fails writes, and write moves it before
// every write that it would fail, so it stays: that saves the two changes
// of it per write that make up much of the cost of a stream of small,
// spaced items.
func (s *session[T]) idle() {
	if !s.deadlineAt.IsZero() && !s.http1 {
		s.setDeadline(time.Time{})
	}
}
