package fanout

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/stallsock"
)

// stalledReadBuffer is the receive buffer of the subscriber that is to
// stall: the smallest Linux allows, so that the server's writes to it
// block after what the server's own socket buffers.
const stalledReadBuffer = 4 << 10

// Subscriber is one SSE client. What it saw is written by its goroutine
// alone; read it after Clients.Close.
type Subscriber struct {
	conn       net.Conn    // set once connected, under Clients.mu (see keep)
	stalledOne bool        // the subscriber that Clients.StallOne stops
	stalled    atomic.Bool // it has stopped reading
	afterStall bool        // an event due after the Stall window arrived
	Seen
}

// Seen is what a subscriber saw of its stream.
type Seen struct {
	Events      int64  // events due in the Load window and received
	FirstID     uint64 // the id of the first of them
	LastWinID   uint64 // the id of the last of them
	LastID      uint64 // the id of the last event received
	Gaps        int64  // ids skipped: events missed
	Disordered  int64  // ids not above the one before: duplicates or reordering
	Unexpected  int64  // named events (reset, missed, error, shutdown)
	SawAfterWin bool   // an event due after the Load window arrived
}

// Connected reports whether the subscriber connected.
func (s *Subscriber) Connected() bool { return s.conn != nil }

// StalledOne reports whether this is the subscriber that StallOne stops.
func (s *Subscriber) StalledOne() bool { return s.stalledOne }

// connect opens the subscriber's stream: it dials a fresh connection,
// sends the request and reads the response's head. It returns the
// connection, with a deadline ConnectTimeout away for the head and the
// first frame, and a reader of the stream's lines. On error it closes the
// connection.
func (s *Subscriber) connect(ctx context.Context, addr, path string, payload int) (net.Conn, *bufio.Reader, error) {
	var d net.Dialer
	if s.stalledOne {
		d.Control = stallsock.Control(stalledReadBuffer, stallsock.MSS)
	}
	dctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	if s.stalledOne && d.Control == nil {
		if err := conn.(*net.TCPConn).SetReadBuffer(stalledReadBuffer); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	if err := conn.SetDeadline(time.Now().Add(ConnectTimeout)); err != nil {
		conn.Close()
		return nil, nil, err
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, nil, err
	}
	// Two small buffers: one under the HTTP framing (status, headers,
	// chunk sizes), one for the event stream's lines inside it.
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, nil, fmt.Errorf("status %s", resp.Status)
	}
	return conn, bufio.NewReaderSize(resp.Body, max(512, payload+64)), nil
}

// read parses the stream's events, following the event stream format
// (lines ending in LF, CRLF or CR are not mixed by these servers; they
// end them with LF), until the stream ends, or, with once, until the end
// of its first frame; it returns why it stopped (nil after a first frame).
// A subscriber told to stall stops before each line until Close.
func (s *Subscriber) read(lines *bufio.Reader, c *Clients, once bool) error {
	var (
		id             uint64
		ts             int64
		hasID, hasData bool
	)
	for {
		if s.stalled.Load() {
			<-c.release
		}
		line, err := lines.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return fmt.Errorf("line longer than %d bytes", lines.Size())
			}
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 { // dispatch
			if hasData {
				s.deliver(id, hasID, ts, c)
			}
			if once {
				return nil
			}
			hasID, hasData = false, false
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(name) {
		case "": // a comment: a heartbeat
		case "id":
			id, _ = strconv.ParseUint(string(value), 10, 64)
			hasID = true
		case "data":
			digits, _, _ := bytes.Cut(value, []byte(" "))
			ts, _ = strconv.ParseInt(string(digits), 10, 64)
			hasData = true
		case "event":
			s.Unexpected++
			c.noteErr(fmt.Sprintf("unexpected event %q", value))
		}
	}
}

// deliver accounts for one event received, due at ts, whose id field, if
// it had one, was id.
func (s *Subscriber) deliver(id uint64, hasID bool, ts int64, c *Clients) {
	now := time.Now().UnixNano()
	if hasID {
		switch {
		case s.LastID == 0:
		case id > s.LastID+1:
			s.Gaps += int64(id - s.LastID - 1)
		case id <= s.LastID:
			s.Disordered++
		}
		s.LastID = id
	}
	if !s.stalledOne {
		switch {
		case c.Stall.contains(ts):
			c.Stall.Deliveries.Add(1)
			c.Stall.Latency.Record(time.Duration(now - ts))
		case c.Stall.after(ts) && !s.afterStall:
			s.afterStall = true
			c.Stall.Finished.Add(1)
		}
	}
	switch {
	case c.Load.contains(ts):
		c.Load.Latency.Record(time.Duration(now - ts))
		c.Load.Deliveries.Add(1)
		if s.Events == 0 {
			s.FirstID = id
		}
		s.Events++
		s.LastWinID = id
	case c.Load.after(ts) && !s.SawAfterWin:
		s.SawAfterWin = true
		c.Load.Finished.Add(1)
	}
}
