package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/latency"
)

// connectTimeout bounds a subscriber's dial, request and first frame.
const connectTimeout = 30 * time.Second

// window is the measured window, in publication times (nanoseconds since
// 1970): events published in [start, end) count. Before it is set, no
// event counts.
type window struct {
	start, end atomic.Int64
}

// contains reports whether an event published at ts counts.
func (w *window) contains(ts int64) bool { return ts >= w.start.Load() && ts < w.end.Load() }

// after reports whether an event published at ts comes after the window.
func (w *window) after(ts int64) bool { return ts >= w.end.Load() }

// clients are the subscribers of a run and what they share.
type clients struct {
	addr    string
	payload int
	win     window
	latency latency.Histogram

	closing     atomic.Bool  // the run is closing the connections
	alive       atomic.Int64 // subscribers connected and reading
	failed      atomic.Int64 // subscribers that could not connect
	disconnects atomic.Int64 // subscribers whose stream ended before closing
	finished    atomic.Int64 // subscribers that received an event after the window

	errMu sync.Mutex
	errs  []string // the first few errors, for the report

	subs    []subscriber
	readers sync.WaitGroup
}

// maxErrs is how many error messages a run keeps.
const maxErrs = 5

// subscriber is one SSE client. Its fields other than conn are written by
// its reader goroutine alone and read once that has been joined.
type subscriber struct {
	conn net.Conn // set once connected

	events      int64  // events published in the window and received
	firstID     uint64 // the id of the first of them
	lastWinID   uint64 // the id of the last of them
	lastID      uint64 // the id of the last event received
	gaps        int64  // ids skipped: events missed
	disordered  int64  // ids not above the one before: duplicates or reordering
	unexpected  int64  // named events (reset, missed, error, shutdown)
	sawAfterWin bool   // an event published after the window arrived
}

// newClients returns the n subscribers of a server at addr whose events
// carry payload bytes of data.
func newClients(addr string, n, payload int) *clients {
	c := &clients{addr: addr, payload: payload, subs: make([]subscriber, n)}
	c.win.start.Store(math.MaxInt64)
	return c
}

// connect starts every subscriber's goroutine, at most dials connecting at
// once, and returns when each has connected (received the stream's opening
// frame) or failed to. The goroutines then read their streams until close.
func (c *clients) connect(ctx context.Context, dials int) {
	sem := make(chan struct{}, dials)
	var connecting sync.WaitGroup
	connecting.Add(len(c.subs))
	for i := range c.subs {
		s := &c.subs[i]
		c.readers.Go(func() {
			sem <- struct{}{}
			lines, err := s.connect(ctx, c.addr, c.payload)
			<-sem
			if err != nil {
				c.failed.Add(1)
				c.noteErr(fmt.Errorf("connect: %w", err))
				connecting.Done()
				return
			}
			c.alive.Add(1)
			connecting.Done()
			err = s.read(lines, c)
			if c.closing.Load() {
				return
			}
			c.alive.Add(-1)
			c.disconnects.Add(1)
			c.noteErr(fmt.Errorf("stream ended: %w", err))
		})
	}
	connecting.Wait()
}

// close closes every connection and joins the subscribers' goroutines.
func (c *clients) close() {
	c.closing.Store(true)
	for i := range c.subs {
		if conn := c.subs[i].conn; conn != nil {
			conn.Close()
		}
	}
	c.readers.Wait()
}

// noteErr keeps err's message if fewer than maxErrs are kept.
func (c *clients) noteErr(err error) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if len(c.errs) < maxErrs {
		c.errs = append(c.errs, err.Error())
	}
}

// errMessages returns the error messages kept.
func (c *clients) errMessages() []string {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return slices.Clone(c.errs)
}

// connect opens the subscriber's stream: it sends the request over a
// fresh connection, checks the response and reads the opening frame (the
// retry field). It returns a reader of the stream's lines. On error the
// connection is closed.
func (s *subscriber) connect(ctx context.Context, addr string, payload int) (_ *bufio.Reader, err error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	req := "GET " + eventsPath + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return nil, err
	}
	// Two small buffers: one under the HTTP framing (status, headers,
	// chunk sizes), one for the event stream's lines inside it.
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	lines := bufio.NewReaderSize(resp.Body, max(512, payload+64))
	for {
		line, err := lines.ReadSlice('\n')
		if err != nil {
			return nil, fmt.Errorf("opening frame: %w", err)
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break // the retry field's blank line
		}
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	s.conn = conn
	return lines, nil
}

// read parses the stream's events, following the event stream format
// (lines ending in LF, CRLF or CR are not mixed by this server; it ends
// them with LF), until the stream ends; it returns why.
func (s *subscriber) read(lines *bufio.Reader, c *clients) error {
	var (
		id             uint64
		ts             int64
		hasID, hasData bool
	)
	for {
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
			s.unexpected++
			c.noteErr(fmt.Errorf("unexpected event %q", value))
		}
	}
}

// deliver accounts for one event received, published at ts, whose id
// field, if it had one, was id.
func (s *subscriber) deliver(id uint64, hasID bool, ts int64, c *clients) {
	now := time.Now().UnixNano()
	if hasID {
		switch {
		case s.lastID == 0:
		case id > s.lastID+1:
			s.gaps += int64(id - s.lastID - 1)
		case id <= s.lastID:
			s.disordered++
		}
		s.lastID = id
	}
	switch {
	case c.win.contains(ts):
		c.latency.Record(time.Duration(now - ts))
		if s.events == 0 {
			s.firstID = id
		}
		s.events++
		s.lastWinID = id
	case c.win.after(ts) && !s.sawAfterWin:
		s.sawAfterWin = true
		c.finished.Add(1)
	}
}
