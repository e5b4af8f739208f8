package sink

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/ginstream/ginstream/generator"
)

// Epilogue is implemented by encoders whose format can tell the client how
// a stream ended, in the stream itself: an error event of Server-Sent
// Events, or a last NDJSON record that says the stream is complete. A
// Writer calls AppendEpilogue once, when a stream whose headers were sent
// ends — complete, or with a failure of its producers or its encoder, but
// not when the client left or stalled, since nothing reaches such a
// client — and writes what it appended.
type Epilogue interface {
	// AppendEpilogue appends the end of a stream that ended as end says,
	// and reports, for a failure, whether what it appended tells the
	// client so, so that the response may end cleanly. If it returns
	// false, the Writer aborts the response after writing what was
	// appended, as it does for encoders without an epilogue. A failure is
	// reported and logged either way.
	AppendEpilogue(dst []byte, end End) ([]byte, bool)
}

// End describes how a stream ended, for an [Epilogue].
type End struct {
	// Err is why the stream failed; nil if it completed.
	Err error
	// Message is what the client may be told of Err, one line ("" if Err
	// is nil): Err's
	// message for a client error (a status from 400 to 499 by
	// [StatusOf]); for a server error only the status text and the
	// request's id, since the detail of an internal failure (a host, a
	// query, a driver's message) is for the log.
	Message string
}

// stop cancels and joins the producers, settles the outcome of a stream
// that ended with err (io.EOF or nil meaning success) and answers or
// aborts the response accordingly.
func (s *session[T]) stop(err error) {
	if err == nil {
		err = io.EOF
	}
	if s.outcome == Completed {
		switch {
		case err == io.EOF:
		case s.c.Request.Context().Err() != nil:
			s.outcome = ClientGone
			if !errors.Is(err, ErrClientGone) {
				err = fmt.Errorf("%w: %w", ErrClientGone, err)
			}
		case errors.Is(err, ErrStalled):
			s.outcome = Stalled
		case errors.Is(err, ErrMaxDuration):
			s.outcome = Expired
		default:
			s.outcome = Failed
		}
	}
	cause := err
	if cause == io.EOF {
		cause = generator.ErrClosed
	}
	s.cancelStream(cause)
	if s.group != nil {
		if cerr := s.group.Close(); err == io.EOF && cerr != nil {
			// A producer failed after the last item was taken.
			s.outcome, err = Failed, cerr
		}
	}
	// Whether the client can still be told anything: not if it left,
	// or if the connection failed under a write.
	reachable := s.outcome != ClientGone && !s.connFailed
	clean := err == io.EOF
	if clean && s.opened {
		if !s.epilogue(nil) {
			clean, err = false, s.err // the client did not take it
		}
	} else if reachable && s.c.Writer.Written() {
		outcome := s.outcome
		clean = s.epilogue(err)
		s.outcome = outcome // the failure, even if the client left meanwhile
	}
	if clean && s.comp != nil && !s.finishCompression() {
		clean, err = false, s.err
	}
	if !s.deadlineAt.IsZero() {
		s.setDeadline(time.Time{})
	}
	s.report.Outcome = s.outcome
	s.report.Status = s.c.Writer.Status()
	if err == io.EOF {
		return
	}
	s.report.Err = err
	switch {
	case clean:
		// The encoder's epilogue told the client.
	case reachable && !s.c.Writer.Written():
		s.report.Status = answerError(s.c, err)
	default:
		// Bytes were sent, or the connection is gone or stuck: the
		// client must see a failed transfer.
		s.abort()
	}
}

// epilogue writes the encoder's end of a stream that ended with err (nil:
// it completed) after it had started, if the encoder has one, and reports
// whether the response may end cleanly after it.
func (s *session[T]) epilogue(err error) bool {
	ep, ok := s.w.Encoder.(Epilogue)
	if !ok {
		return err == nil
	}
	end := End{Err: err}
	if err != nil {
		end.Message = publicMessage(s.c, StatusOf(err), err)
	}
	var clean bool
	s.buf, clean = ep.AppendEpilogue(s.buf[:0], end)
	if len(s.buf) > 0 && !s.write(s.c.Writer) {
		return false
	}
	return clean || err == nil
}

// finishCompression writes the compressed stream's trailer, under the
// stall deadline, and reports whether the client accepted it.
func (s *session[T]) finishCompression() bool {
	if s.stall > 0 {
		s.setDeadline(time.Now().Add(s.stall))
	}
	before := s.counter.n
	err := s.comp.Close()
	s.report.Bytes += s.counter.n - before
	if err == nil {
		s.c.Writer.Flush()
		err = s.rc.Flush()
	}
	if err != nil {
		s.writeFailed(err)
		return false
	}
	return true
}

// abort makes the client see a failed transfer after bytes were sent. Over
// HTTP/1.x the connection is taken from the server and reset (closed with
// SO_LINGER 0, so that the client gets a TCP RST, never the FIN that some
// HTTP stacks take for the end of a body); over HTTP/2 a write deadline in
// the past makes the server reset the stream. Both work whatever
// middleware wraps the handler, unlike panic(http.ErrAbortHandler), which
// gin's Recovery swallows. Where neither is possible, a past write
// deadline makes the HTTP/1.1 server lose the chunked body's terminator
// and close the connection, and as a last resort Stream panics with
// http.ErrAbortHandler once the stream is reported.
func (s *session[T]) abort() {
	s.deadlineAt = time.Time{}
	if s.http1 {
		// The server's own writer: gin's, and writers of middleware
		// that wrap it, refuse to hand the connection over once a body
		// was written.
		if conn, _, err := http.NewResponseController(innermost(s.c.Writer)).Hijack(); err == nil {
			resetConn(conn)
			return
		}
	}
	err := s.rc.SetWriteDeadline(time.Unix(1, 0))
	if !errors.Is(err, http.ErrNotSupported) {
		return // aborted, or the connection is closed already
	}
	s.mustPanic = true
}

// innermost returns the writer at the bottom of w's chain of Unwrap
// methods: the server's own.
func innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

// resetConn closes conn so that its peer sees a reset: with SO_LINGER 0
// where conn is TCP (under TLS too), with a plain close otherwise.
func resetConn(conn net.Conn) {
	if tc, ok := conn.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		conn = tc.NetConn()
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
