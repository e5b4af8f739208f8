// Command hijacked is an experiment of the side-by-side program: the
// pooled experiment's broadcaster (a pool of writers that grows when its
// writers are held by clients that do not read), but each handler hijacks
// its connection, writes the response's head itself and returns. It
// measures what the trade the notes name (taking HTTP/1.1 connections
// from net/http) buys in memory per idle subscriber through gin: with
// the handler returned, net/http's goroutine, its buffers, its background
// reader and gin's Context are gone; what a subscriber keeps is its
// connection, a goroutine of its own that waits for the client to close
// it (a read of one byte), and its place in the hub. What it gives up, and
// a library would have to answer for: HTTP/2 (no hijacking there),
// middleware that wraps the response writer (bypassed), net/http's
// graceful shutdown and write timeouts (the connection is no longer the
// server's), keep-alive (the body ends with the connection).
package main

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
)

// subscriberBuffer is how many frames a subscriber may fall behind
// before it is dropped, as in the reference.
const subscriberBuffer = 64

// head is the response's head: the body is close-delimited.
const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"

// subscriber is one stream: its connection, what is left to write to it,
// and whether a writer has it queued or in hand.
type subscriber struct {
	conn  net.Conn
	index int // in hub.subs

	// Guarded by the hub's mu.
	pending   [][]byte
	scheduled bool // queued for a writer, or being written
	dropped   bool
}

// hub is the subscribers, in the order they joined, and the writers.
type hub struct {
	mu    sync.Mutex
	subs  []*subscriber // nil where one left
	holes int

	queue   []*subscriber // waiting for a writer
	ready   *sync.Cond    // signals a writer when queue grows
	writers int           // running
	idle    int           // waiting on ready
	taken   uint64        // subscribers taken from queue, for the supervisor
}

// serve hijacks the connection, writes the head, joins the hub and
// returns; a goroutine of the subscriber's waits for the client to close.
func (h *hub) serve(c *gin.Context) {
	conn, rw, err := c.Writer.Hijack()
	if err != nil {
		c.AbortWithStatus(http.StatusHTTPVersionNotSupported) // HTTP/2: no hijacking
		return
	}
	if rw.Reader.Buffered() > 0 { // a pipelined request: not this experiment's
		conn.Close()
		return
	}
	if _, err := conn.Write([]byte(head)); err != nil {
		conn.Close()
		return
	}
	s := &subscriber{conn: conn}
	h.join(s)
	go h.watch(s)
}

// watch waits for the client to close the connection (or for the hub to
// close it), then takes the subscriber out.
func (h *hub) watch(s *subscriber) {
	var b [1]byte
	_, _ = s.conn.Read(b[:])
	h.mu.Lock()
	if !s.dropped {
		h.drop(s)
	}
	h.mu.Unlock()
}

func (h *hub) join(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.index = len(h.subs)
	h.subs = append(h.subs, s)
}

// drop takes s out of the hub and closes its connection, which ends its
// watch and any write to it. h.mu must be held.
func (h *hub) drop(s *subscriber) {
	s.dropped = true
	s.pending = nil
	s.conn.Close()
	h.subs[s.index] = nil
	h.holes++
	if h.holes > len(h.subs)/2 {
		kept := h.subs[:0]
		for _, o := range h.subs {
			if o != nil {
				o.index = len(kept)
				kept = append(kept, o)
			}
		}
		clear(h.subs[len(kept):])
		h.subs, h.holes = kept, 0
	}
}

// schedule queues s for a writer unless one has it. h.mu must be held.
func (h *hub) schedule(s *subscriber) {
	if s.scheduled {
		return
	}
	s.scheduled = true
	h.queue = append(h.queue, s)
	if h.idle > 0 {
		h.ready.Signal()
	} else if h.writers == 0 {
		h.writers++
		go h.write()
	}
}

// publish encodes one frame and gives it to every subscriber, in the order
// they joined, dropping those that are too far behind.
func (h *hub) publish(id uint64, data []byte) error {
	f := make([]byte, 0, len(data)+32)
	f = append(f, "id: "...)
	f = strconv.AppendUint(f, id, 10)
	f = append(f, "\ndata: "...)
	f = append(f, data...)
	f = append(f, "\n\n"...)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.subs {
		if s == nil {
			continue
		}
		if len(s.pending) >= subscriberBuffer {
			h.drop(s)
			continue
		}
		s.pending = append(s.pending, f)
		h.schedule(s)
	}
	return nil
}

// write is one writer: it writes the pending frames of the subscribers
// queued, one subscriber at a time. Writers never end: this is an
// experiment, run for one measurement.
func (h *hub) write() {
	h.mu.Lock()
	for {
		for len(h.queue) == 0 {
			h.idle++
			h.ready.Wait()
			h.idle--
		}
		s := h.queue[0]
		h.queue[0] = nil
		h.queue = h.queue[1:]
		if len(h.queue) == 0 {
			h.queue = nil
		}
		h.taken++
		frames := s.pending
		s.pending = nil
		dropped := s.dropped
		h.mu.Unlock()
		ok := dropped || deliver(s.conn, frames)
		h.mu.Lock()
		if !ok && !s.dropped {
			h.drop(s)
		}
		s.scheduled = false
		if len(s.pending) > 0 && !s.dropped {
			h.schedule(s)
		}
	}
}

// deliver writes frames to conn, in one write.
func deliver(conn net.Conn, frames [][]byte) bool {
	bufs := net.Buffers(frames)
	_, err := bufs.WriteTo(conn)
	return err == nil
}

// supervise adds a writer whenever the queue has not moved for a
// millisecond while every writer is busy, as in the pooled experiment.
func (h *hub) supervise() {
	var last uint64
	for range time.Tick(time.Millisecond) {
		h.mu.Lock()
		if len(h.queue) > 0 && h.idle == 0 && h.taken == last {
			h.writers++
			go h.write()
		}
		last = h.taken
		h.mu.Unlock()
	}
}

func main() {
	h := &hub{}
	h.ready = sync.NewCond(&h.mu)
	go h.supervise()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/events", h.serve)
	broadcast.Main("/events", r, h.publish)
}
