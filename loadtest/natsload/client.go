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
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/latency"
)

// subscriber is one SSE client of an instance. Its fields other than conn
// and received are written by its reader goroutine alone, and read once
// that has been joined.
type subscriber struct {
	instance int // the index of the instance it reads
	conn     net.Conn
	received atomic.Int64 // events received

	same, cross latency.Histogram // latencies of events published through its instance, and through others
	lastID      uint64
	gaps        int64 // ids skipped: events missed
	disordered  int64 // ids not above the one before
	named       int64 // events with a name: reset, missed, error, shutdown
	ended       error // why the stream ended before the run closed it
	sawAfter    bool  // an event due after the window arrived
}

// window is the span of due times whose events count.
type window struct{ start, end atomic.Int64 }

// clients are the subscribers of a run.
type clients struct {
	subs    []*subscriber
	win     window
	closing atomic.Bool
	after   atomic.Int64 // subscribers that received an event due after the window
	// progress gets a token when a subscriber receives an event, for
	// publishers waiting for the slowest to catch up.
	progress chan struct{}
	readers  sync.WaitGroup
}

// newClients returns perInstance subscribers for each of the urls.
func newClients(urls []string, perInstance int) *clients {
	c := &clients{progress: make(chan struct{}, 1)}
	c.win.start.Store(1<<63 - 1)
	c.win.end.Store(1<<63 - 1)
	for i := range urls {
		for range perInstance {
			c.subs = append(c.subs, &subscriber{instance: i})
		}
	}
	return c
}

// connect connects every subscriber, dials at a time, and starts its
// reader; it returns the first error, having closed what it opened.
func (c *clients) connect(ctx context.Context, urls []string, dials int) error {
	sem := make(chan struct{}, dials)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, s := range c.subs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			lines, err := s.connect(ctx, urls[s.instance])
			if err != nil {
				mu.Lock()
				first = cmpOr(first, err)
				mu.Unlock()
				return
			}
			c.readers.Go(func() { s.read(lines, c) })
		})
	}
	wg.Wait()
	if first != nil {
		c.close()
	}
	return first
}

// cmpOr returns a if it is not nil, else b.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// close closes every connection and joins the readers.
func (c *clients) close() {
	c.closing.Store(true)
	for _, s := range c.subs {
		if s.conn != nil {
			s.conn.Close()
		}
	}
	c.readers.Wait()
}

// minReceived returns the fewest events any subscriber has received.
func (c *clients) minReceived() int64 {
	m := int64(1<<63 - 1)
	for _, s := range c.subs {
		m = min(m, s.received.Load())
	}
	return m
}

// connect opens the stream at base and reads its opening retry field.
func (s *subscriber) connect(ctx context.Context, base string) (*bufio.Reader, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	req := "GET " + eventsPath + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAccept: text/event-stream\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != http.StatusOK {
		conn.Close()
		return nil, fmt.Errorf("GET %s: %v %v", base, res, err)
	}
	lines := bufio.NewReaderSize(res.Body, 1024)
	for {
		line, err := lines.ReadSlice('\n')
		if err != nil {
			conn.Close()
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
	}
	s.conn = conn
	return lines, nil
}

// read reads events until the stream ends. An event's data is its due
// time in nanoseconds since 1970 and the index of the instance that
// published it.
func (s *subscriber) read(lines *bufio.Reader, c *clients) {
	var (
		id             uint64
		due            int64
		from           int
		hasData, named bool
	)
	for {
		line, err := lines.ReadSlice('\n')
		if err != nil {
			if !c.closing.Load() {
				s.ended = cmpOr(err, errors.New("stream ended"))
			}
			return
		}
		line = bytes.TrimRight(line, "\n")
		if len(line) == 0 {
			if hasData {
				s.deliver(id, due, from, named, c)
			}
			hasData, named = false, false
			continue
		}
		name, value, _ := bytes.Cut(line, []byte(": "))
		switch string(name) {
		case "id":
			id, _ = strconv.ParseUint(string(value), 10, 64)
		case "event":
			named = true
		case "data":
			hasData = true
			ts, inst, _ := bytes.Cut(value, []byte(" "))
			due, _ = strconv.ParseInt(string(ts), 10, 64)
			from, _ = strconv.Atoi(string(inst))
		}
	}
}

// deliver accounts for one event.
func (s *subscriber) deliver(id uint64, due int64, from int, named bool, c *clients) {
	now := time.Now().UnixNano()
	if named {
		s.named++
		return
	}
	switch {
	case s.lastID == 0:
	case id > s.lastID+1:
		s.gaps += int64(id - s.lastID - 1)
	case id <= s.lastID:
		s.disordered++
	}
	s.lastID = id
	s.received.Add(1)
	select {
	case c.progress <- struct{}{}:
	default:
	}
	switch {
	case due >= c.win.start.Load() && due < c.win.end.Load():
		if from == s.instance {
			s.same.Record(time.Duration(now - due))
		} else {
			s.cross.Record(time.Duration(now - due))
		}
	case due >= c.win.end.Load() && !s.sawAfter:
		s.sawAfter = true
		c.after.Add(1)
	}
}
