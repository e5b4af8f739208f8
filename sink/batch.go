package sink

import (
	"io"
	"runtime"
	"time"

	"github.com/gin-gonic/gin"
)

// run streams the producers of Writer.Stream until the end, in batches,
// and returns the report.
func (s *session[T]) run() Report {
	var err error
	if s.w.HeaderTimeout > 0 {
		t := time.NewTimer(s.w.HeaderTimeout)
		s.batch, err = s.group.NextUntil(nil, t.C)
		t.Stop()
	} else {
		s.batch, err = s.group.Next(nil)
	}
	if err != nil && err != io.EOF {
		// Failed before the first byte: answer with an error status.
		s.stop(err)
		return s.report
	}
	if perr := s.open(); perr != nil {
		s.stop(perr)
		return s.report
	}
	if len(s.batch) > 0 {
		// Encode the first items before the loop, so that an item the
		// encoder refuses is still answered with an error status: gin's
		// Context.Stream flushes after every step, headers included.
		s.encode()
		if s.err != nil {
			s.buf = s.buf[:0] // the preamble, if any: nothing was sent
			s.stop(s.err)
			return s.report
		}
	}
	if len(s.batch) == 0 && len(s.buf) == 0 {
		// An empty stream, or a first item that is late: send the
		// headers now.
		s.sendHeaders(s.c.Writer)
	}
	s.err = err
	if s.err == nil || len(s.buf) > 0 {
		s.loop()
	}
	s.stop(s.err)
	return s.report
}

// loop drives step through gin's Context.Stream, or through an equivalent
// loop where the response writer cannot report a closed connection (gin's
// Stream would panic there).
func (s *session[T]) loop() {
	if !canCloseNotify(s.c.Writer) {
		for s.step(s.c.Writer) {
			s.c.Writer.Flush()
		}
		return
	}
	if clientGone := s.c.Stream(s.step); clientGone && s.err == nil {
		// gin saw the connection close between two steps.
		s.outcome, s.err = ClientGone, ErrClientGone
	}
}

// canCloseNotify reports whether w's CloseNotify works; gin's panics when
// the underlying writer lacks it (httptest.ResponseRecorder, HTTP/3).
func canCloseNotify(w gin.ResponseWriter) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	w.CloseNotify()
	return true
}

// step waits for items, encodes as many as are waiting up to the byte
// budget, writes them and flushes. It returns false when the stream is over.
func (s *session[T]) step(out io.Writer) bool {
	hot := true // items were waiting: the producers are busy
	if s.next == len(s.batch) && len(s.buf) == 0 {
		if s.batch, s.next = s.group.TryNext(s.batch), 0; len(s.batch) == 0 {
			hot = false
			s.idle()
			var err error
			if s.batch, err = s.group.Next(s.batch); err != nil {
				s.err = err
				return false
			}
		}
	}
	for len(s.buf) < s.budget && s.err == nil {
		if s.next == len(s.batch) {
			// Take what arrived meanwhile, without waiting.
			if s.batch, s.next = s.group.TryNext(s.batch), 0; len(s.batch) == 0 {
				if !hot || len(s.buf) >= s.budget/2 {
					break
				}
				// Busy producers fill the buffer faster than a write
				// empties it: let them run once before writing a small
				// batch, so that batches grow and writes (and wake-ups)
				// become fewer.
				hot = false
				runtime.Gosched()
				continue
			}
		}
		s.encode()
	}
	if len(s.buf) > 0 && !s.write(out) {
		return false
	}
	return s.err == nil
}

// encode encodes received items into buf until the budget is reached.
func (s *session[T]) encode() {
	enc, first := s.w.Encoder, s.next
	for s.next < len(s.batch) && len(s.buf) < s.budget {
		var err error
		if s.buf, err = enc.Append(s.buf, s.batch[s.next]); err != nil {
			s.err = err
			break
		}
		s.next++
	}
	s.report.Items += int64(s.next - first)
}
