// Package fanout is the SSE fan-out client of the load programs
// (loadtest/sseload, loadtest/sidebyside): many subscribers to one event
// stream, each on a connection of its own with one goroutine and two small
// buffers, that parse the events, check their ids and measure their
// delivery latency.
//
// Every event's data starts with the time it was due, in nanoseconds since
// 1970 (TimestampDigits digits; padding after a space), and latency is
// measured from it, on the same clock (the same machine). Its id, if it
// has one, is a decimal sequence number: an id more than one above the one
// before counts as missed events, an id not above it as out of order.
//
//	c := fanout.New(addr, "/events", 1000, 64)
//	c.Start(ctx, 64)          // dial, send the requests; reading starts
//	c.WaitReady(ctx, nil)      // every subscriber has received a first frame
//	c.Load.Set(start, end)     // count the events due in [start, end)
//	…
//	c.Close()                  // close every connection, join the goroutines
//	for i := range c.Subs { … c.Subs[i].Events … }
//
// The subscribers' goroutines are owned by the Clients: Start starts them,
// Close ends and joins them; a subscriber's fields may be read only after
// Close.
package fanout

import (
	"context"
	"math"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/latency"
)

// TimestampDigits is the width of an event's due time, in nanoseconds
// since 1970, at the start of its data.
const TimestampDigits = 19

// ConnectTimeout bounds a subscriber's dial, request, response head and
// first frame.
const ConnectTimeout = 60 * time.Second

// maxErrs is how many error messages a run keeps.
const maxErrs = 5

// Window is a span of due times, in nanoseconds since 1970: the events due
// in [start, end) are counted. Before Set, no event counts.
type Window struct {
	start, end atomic.Int64
	// Deliveries counts the events due in the window that were received,
	// over all subscribers but a stalled one.
	Deliveries atomic.Int64
	// Latency holds their delivery latencies.
	Latency latency.Histogram
	// Finished counts the subscribers (but a stalled one) that received
	// an event due after the window: every event of the window that
	// will reach them has.
	Finished atomic.Int64
}

// newWindow returns a window that counts nothing yet: no event is in it
// or after it.
func newWindow() *Window {
	w := &Window{}
	w.start.Store(math.MaxInt64)
	w.end.Store(math.MaxInt64)
	return w
}

// Set makes the window [start, end).
func (w *Window) Set(start, end time.Time) {
	w.end.Store(end.UnixNano())
	w.start.Store(start.UnixNano())
}

// contains reports whether an event due at ts counts.
func (w *Window) contains(ts int64) bool { return ts >= w.start.Load() && ts < w.end.Load() }

// after reports whether an event due at ts comes after the window.
func (w *Window) after(ts int64) bool { return ts >= w.end.Load() }

// Clients are the subscribers of a run and what they share.
type Clients struct {
	addr, path string
	payload    int

	// Load is the measured window: its deliveries also count per
	// subscriber (Subscriber.Events and the ids).
	Load *Window
	// Stall is a second window, for a phase in which one subscriber
	// stops reading (Stall): only its totals count.
	Stall *Window

	closing     atomic.Bool  // the run is closing the connections
	Ready       atomic.Int64 // subscribers that received their first frame
	Alive       atomic.Int64 // subscribers connected and reading
	Failed      atomic.Int64 // subscribers that could not connect
	Disconnects atomic.Int64 // subscribers whose stream ended before Close

	// StalledIndex is the subscriber that Stall stops, whose socket
	// Start sets up for it (a small receive buffer, see stallsock); -1
	// for none.
	StalledIndex int
	release      chan struct{} // closed by Close: a stalled reader goes on

	mu   sync.Mutex
	errs []string // the first few errors, for the report

	// Subs are the subscribers; read their fields after Close.
	Subs    []Subscriber
	readers sync.WaitGroup
}

// New returns the n subscribers of the event stream at path (with its
// query) of the server at addr, whose events carry up to payload bytes of
// data.
func New(addr, path string, n, payload int) *Clients {
	return &Clients{
		addr: addr, path: path, payload: payload,
		Load: newWindow(), Stall: newWindow(),
		StalledIndex: -1,
		release:      make(chan struct{}),
		Subs:         make([]Subscriber, n),
	}
}

// Start starts every subscriber's goroutine, at most dials connecting at
// once (dial, request, response head); each then reads its stream until
// Close. Start returns at once.
func (c *Clients) Start(ctx context.Context, dials int) {
	sem := make(chan struct{}, dials)
	for i := range c.Subs {
		s := &c.Subs[i]
		s.stalledOne = i == c.StalledIndex
		c.readers.Go(func() { c.run(ctx, s, sem) })
	}
}

// run is a subscriber's goroutine.
func (c *Clients) run(ctx context.Context, s *Subscriber, sem chan struct{}) {
	sem <- struct{}{}
	conn, lines, err := s.connect(ctx, c.addr, c.path, c.payload)
	<-sem
	if err != nil {
		c.Failed.Add(1)
		c.noteErr("connect: " + err.Error())
		return
	}
	if !c.keep(s, conn) {
		return
	}
	// The first frame: the retry field an sse.EventWriter opens with, or
	// a first event.
	if err := s.read(lines, c, true); err != nil {
		c.Failed.Add(1)
		c.noteErr("first frame: " + err.Error())
		return
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		c.Failed.Add(1)
		c.noteErr(err.Error())
		return
	}
	c.Ready.Add(1)
	c.Alive.Add(1)
	err = s.read(lines, c, false)
	if c.closing.Load() {
		return
	}
	c.Alive.Add(-1)
	c.Disconnects.Add(1)
	c.noteErr("stream ended: " + err.Error())
}

// WaitReady returns when every subscriber has received its first frame or
// failed, or when ctx ends. While it waits, it calls poke (if not nil)
// every 200 ms: a server that sends nothing before its first event is
// asked for one.
func (c *Clients) WaitReady(ctx context.Context, poke func() error) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for c.Ready.Load()+c.Failed.Load() < int64(len(c.Subs)) {
		if poke != nil {
			if err := poke(); err != nil {
				return err
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// StallOne makes the subscriber StalledIndex stop reading, until Close.
func (c *Clients) StallOne() {
	if c.StalledIndex >= 0 {
		c.Subs[c.StalledIndex].stalled.Store(true)
	}
}

// keep records a subscriber's connection for Close, and reports whether
// the run is still open; if it is closing, it closes conn.
func (c *Clients) keep(s *Subscriber, conn net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing.Load() {
		conn.Close()
		return false
	}
	s.conn = conn
	return true
}

// Close closes every connection, lets a stalled subscriber go on, and
// joins the subscribers' goroutines. Calls after the first only wait.
func (c *Clients) Close() {
	c.mu.Lock()
	if !c.closing.Swap(true) {
		close(c.release)
	}
	for i := range c.Subs {
		if conn := c.Subs[i].conn; conn != nil {
			conn.Close()
		}
	}
	c.mu.Unlock()
	c.readers.Wait()
}

// noteErr keeps msg if fewer than maxErrs are kept.
func (c *Clients) noteErr(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) < maxErrs {
		c.errs = append(c.errs, msg)
	}
}

// Errors returns the first few error messages.
func (c *Clients) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errs)
}
