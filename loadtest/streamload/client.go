package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/stallsock"
)

// The clients speak HTTP/1.1 over connections of their own, one request
// at a time, so that each decides exactly what it sends and reads, and
// when: a stalled client's socket really stops being read, a slow-loris
// client sends one byte at a time.

// stalledReadBuffer is the socket receive buffer of a client that stops
// reading: small, so that the server's writes block soon after.
const stalledReadBuffer = 4 << 10

// httpConn is a client connection.
type httpConn struct {
	conn  net.Conn
	br    *bufio.Reader
	host  string
	reuse bool // a response has been read to its end: the connection is kept alive
	stop  func() bool
}

// dialHTTP connects to addr from the address from (nil: the system's
// choice, 127.0.0.1 on loopback; see loopback). A positive readBuffer sets
// the socket's receive buffer, before it connects where it can (see
// stallsock.Control). The connection is closed when ctx ends.
func dialHTTP(ctx context.Context, from net.IP, addr string, readBuffer int) (*httpConn, error) {
	var d net.Dialer
	if from != nil {
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	if readBuffer > 0 {
		d.Control = stallsock.Control(readBuffer, stallsock.MSS)
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if readBuffer > 0 && d.Control == nil {
		if err := conn.(*net.TCPConn).SetReadBuffer(readBuffer); err != nil {
			conn.Close()
			return nil, err
		}
	}
	h := &httpConn{conn: conn, br: bufio.NewReaderSize(conn, 2048), host: addr}
	h.stop = context.AfterFunc(ctx, func() { conn.Close() })
	return h, nil
}

// close closes the connection.
func (h *httpConn) close() {
	h.stop()
	h.conn.Close()
}

// get sends a GET request for path, with extra header lines ("Name:
// value"), and reads the response's status and headers, under a deadline
// for the whole exchange including the body (see SetDeadline). The body
// must be read to its end, or the connection closed, before the next get.
func (h *httpConn) get(path string, deadline time.Time, headers ...string) (*http.Response, error) {
	if err := h.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\nHost: " + h.host + "\r\nUser-Agent: streamload\r\n")
	for _, l := range headers {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(h.conn, b.String()); err != nil {
		return nil, err
	}
	return http.ReadResponse(h.br, nil)
}

// getFresh is get on conn if it is kept alive from an earlier request,
// retried once on a new connection if the server had closed the old one;
// otherwise get on a new connection, from the address from (see
// dialHTTP). It returns the connection used, or nil with the error.
func getFresh(ctx context.Context, conn *httpConn, from net.IP, addr, path string, deadline time.Time, headers ...string) (*httpConn, *http.Response, error) {
	if conn != nil && conn.reuse {
		conn.reuse = false
		resp, err := conn.get(path, deadline, headers...)
		if err == nil {
			return conn, resp, nil
		}
		conn.close()
		if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			return nil, nil, err
		}
	} else if conn != nil {
		conn.close()
	}
	conn, err := dialHTTP(ctx, from, addr, 0)
	if err != nil {
		return nil, nil, err
	}
	resp, err := conn.get(path, deadline, headers...)
	if err != nil {
		conn.close()
		return nil, nil, err
	}
	return conn, resp, nil
}

// readAll reads a response's body to its end, at most max bytes (more is
// an error), and marks the connection reusable if the server allows.
func (h *httpConn) readAll(resp *http.Response, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return body, err
	}
	if int64(len(body)) > max {
		return body, fmt.Errorf("body longer than %d bytes", max)
	}
	h.reuse = !resp.Close
	return body, nil
}

// loopback returns the address 127.0.0.n, 1 ≤ n ≤ 254: Linux routes all
// of 127.0.0.0/8 to the loopback interface, so that a client may connect
// to the demo from any of them and be, to the demo's cap on the streams of
// one client address, a client of its own. (Elsewhere, such as on macOS,
// only 127.0.0.1 is configured; the others can be added as aliases of lo0.)
func loopback(n int) net.IP { return net.IPv4(127, 0, 0, byte(n)) }

// cutTransfer reports whether err says that a response's body was cut
// short by the server: a chunked body without its end, or a reset.
func cutTransfer(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// timedOut reports whether err is a deadline running out.
func timedOut(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// numbersBody returns the body of /stream/numbers?count=n: the lines 1 to n.
func numbersBody(n int) []byte {
	var b []byte
	for i := 1; i <= n; i++ {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, '\n')
	}
	return b
}

// isNumbersPrefix reports whether b is the start of a numbers body cut
// after a whole line.
func isNumbersPrefix(b []byte) bool {
	want := 1
	for len(b) > 0 {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok || string(line) != strconv.Itoa(want) {
			return false
		}
		b, want = rest, want+1
	}
	return true
}

// tally counts the outcomes of one kind of client request, keeping the
// first few error messages. It is safe for concurrent use.
type tally struct {
	started, ok, failed atomic.Int64
	// corrupt counts, among the failed, responses that ended cleanly but
	// with bytes missing or wrong: a failure the client could not have
	// told from a success. Others failed detectably (a cut transfer, an
	// error status).
	corrupt atomic.Int64
	// turnedAway counts, among the failed, responses 503 or 429: streams
	// that a limit on streams turned away.
	turnedAway atomic.Int64

	mu   sync.Mutex
	errs []string
}

// maxErrs is how many error messages a tally keeps.
const maxErrs = 5

// fail counts a failure and keeps its message.
func (t *tally) fail(format string, args ...any) {
	t.failed.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.errs) < maxErrs {
		t.errs = append(t.errs, fmt.Sprintf(format, args...))
	}
}

// wrong counts a response that ended cleanly with the wrong bytes, and
// keeps its message.
func (t *tally) wrong(format string, args ...any) {
	t.corrupt.Add(1)
	t.fail(format, args...)
}

// messages returns the error messages kept.
func (t *tally) messages() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.errs...)
}

// sleepCtx sleeps for d or until ctx ends, and returns ctx's error.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
