//go:build ignore

package main

import (
	"bufio"
	"net/http"
	"time"
)

// The stall timeout, done the net/http way: a write deadline set through
// http.ResponseController before each write, so that a write to a client
// that has stopped reading fails once it has blocked for the timeout.

// deadline gives each request's response a write deadline of the stall
// timeout from its start, so that what net/http writes by itself (an
// error's body, the end of a chunked response) is bounded too: without a
// WriteTimeout, net/http keeps a connection's deadline from one request
// to the next.
func (s *server) deadline(h http.Handler) http.Handler {
	if s.stall <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.stall))
		h.ServeHTTP(w, r)
	})
}

// stallWriter is a response writer whose every write and flush must
// complete within the stall timeout (none if it is zero).
type stallWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

// writer returns w with the server's stall timeout.
func (s *server) writer(w http.ResponseWriter) *stallWriter {
	return &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), stall: s.stall}
}

// buffered returns w with the server's stall timeout behind one
// bufio.Writer of bufferSize, and the stallWriter under it, for flushes.
func (s *server) buffered(w http.ResponseWriter) (*bufio.Writer, *stallWriter) {
	sw := s.writer(w)
	return bufio.NewWriterSize(sw, bufferSize), sw
}

// Write writes p, failing if the client accepts none of it for the stall
// timeout.
func (sw *stallWriter) Write(p []byte) (int, error) {
	if err := sw.extend(); err != nil {
		return 0, err
	}
	return sw.ResponseWriter.Write(p)
}

// FlushError sends what net/http has buffered to the client, under the
// same deadline; http.ResponseController.Flush calls it.
func (sw *stallWriter) FlushError() error {
	if err := sw.extend(); err != nil {
		return err
	}
	return sw.rc.Flush()
}

// Unwrap returns the response writer, for http.ResponseController.
func (sw *stallWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// extend sets the write deadline a stall timeout from now.
func (sw *stallWriter) extend() error {
	if sw.stall <= 0 {
		return nil
	}
	return sw.rc.SetWriteDeadline(time.Now().Add(sw.stall))
}

// flush sends what bw and net/http hold to the client.
func flush(bw *bufio.Writer, sw *stallWriter) error {
	if err := bw.Flush(); err != nil {
		return err
	}
	return sw.FlushError()
}

// abort ends a response whose headers have been sent, after a failed write
// or read, so that the client sees a cut transfer rather than a short body
// that looks complete; net/http logs nothing for it.
func abort() { panic(http.ErrAbortHandler) }
