// Command pooled is an experiment of the side-by-side program: an SSE
// broadcaster served through gin (gin.New with Recovery, as the ginstream
// peer), with no library, whose handlers never write. Each handler sets
// its headers, joins the hub and waits, shallow on its stack, for its
// client to leave or the hub to drop it; every write (the headers' flush,
// then the frames) is made by a pool of writers that grows when all of
// its writers are held by clients that do not read. It measures what
// memory per idle subscriber keeping handler stacks shallow buys while
// keeping each subscriber's delivery apart from the others': a stalled
// client holds up one writer, never the other subscribers.
//
// A handler that writes needs an 8 KiB stack (net/http's conn.serve and
// its write path leave less than a 4 KiB stack has above its guard), and
// a stack that has grown is never shrunk back while its goroutine waits
// deeper than ~1.2 KB. Here the handler's goroutine stays within 4 KiB.
package main

import (
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

// subscriber is one stream: what is left to write to it, and whether a
// writer has it queued or in hand.
type subscriber struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	done  chan struct{} // closed when it is dropped or its write failed
	index int           // in hub.subs

	// Guarded by the hub's mu.
	pending   [][]byte
	scheduled bool // queued for a writer, or being written
	started   bool // its headers have been flushed
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

// ServeHTTP holds the subscriber's connection until its client leaves or
// the hub drops it. It writes nothing itself.
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	s := &subscriber{w: w, rc: http.NewResponseController(w), done: make(chan struct{})}
	h.join(s)
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
	h.leave(s)
}

func (h *hub) join(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.index = len(h.subs)
	h.subs = append(h.subs, s)
	h.schedule(s) // its headers
}

// leave removes s, and waits until no writer has it: the handler must not
// return while a writer may use its ResponseWriter.
func (h *hub) leave(s *subscriber) {
	h.mu.Lock()
	if !s.dropped {
		h.drop(s)
	}
	busy := s.scheduled
	h.mu.Unlock()
	for busy {
		time.Sleep(time.Millisecond) // a writer has it: its write ends with the connection
		h.mu.Lock()
		busy = s.scheduled
		h.mu.Unlock()
	}
}

// drop takes s out of the hub and ends its handler's wait. h.mu must be
// held.
func (h *hub) drop(s *subscriber) {
	s.dropped = true
	s.pending = nil
	close(s.done)
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
		frames, start := s.pending, !s.started
		s.pending, s.started = nil, true
		dropped := s.dropped
		h.mu.Unlock()
		ok := !dropped && h.deliver(s, frames, start)
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

// deliver writes frames to s, after its headers if start.
func (h *hub) deliver(s *subscriber, frames [][]byte, start bool) bool {
	if start {
		if s.rc.Flush() != nil {
			return false
		}
	}
	for _, f := range frames {
		if _, err := s.w.Write(f); err != nil {
			return false
		}
	}
	return len(frames) == 0 || s.rc.Flush() == nil
}

// supervise adds a writer whenever the queue has not moved for a
// millisecond while every writer is busy: they are all held by clients
// that do not read, and the others must not wait for them.
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
	// Served through gin, as ginstream's streams are, so that its Context
	// and frames count: the ginstream peer's router.
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/events", func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) })
	broadcast.Main("/events", r, h.publish)
}
