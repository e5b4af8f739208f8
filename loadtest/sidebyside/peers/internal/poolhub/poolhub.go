// Package poolhub is the broadcaster of the side-by-side program's
// experiments (peers/pooled, peers/hijacked): subscribers in the order
// they joined, each event encoded once and queued for every subscriber,
// and a pool of writer goroutines that takes one subscriber at a time and
// writes what it has. When the queue has not moved for a millisecond while
// no writer is idle (every writer is held by a client that does not
// read), the pool adds a writer: a stalled client holds up one writer,
// never the other subscribers. The experiments differ only in what a
// subscriber's connection is: C, with the functions that write to it and
// end it.
package poolhub

import (
	"sync"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
)

// subscriberBuffer is how many frames a subscriber may fall behind
// before it is dropped, as in the reference.
const subscriberBuffer = 64

// Subscriber is one stream: its connection, what is left to write to it,
// and whether a writer has it queued or in hand.
type Subscriber[C any] struct {
	Conn  C
	index int // in Hub.subs

	// Guarded by the hub's mu.
	pending   [][]byte
	scheduled bool // queued for a writer, or being written
	started   bool // a writer has had it once
	dropped   bool
}

// Hub is the subscribers, in the order they joined, and the writers.
type Hub[C any] struct {
	deliver func(c C, frames [][]byte, first bool) bool
	drop    func(c C)

	mu    sync.Mutex
	subs  []*Subscriber[C] // nil where one left
	holes int

	queue   []*Subscriber[C] // waiting for a writer
	ready   *sync.Cond       // signals a writer when queue grows
	writers int              // running
	idle    int              // waiting on ready
	taken   uint64           // subscribers taken from queue, for the supervisor
}

// New returns a hub whose writers write with deliver (frames to a
// connection, first set the first time a writer has it, maybe with none:
// the headers' flush; false if the subscriber is to be dropped), and
// which calls drop, with its lock held and so without blocking, when it
// drops a subscriber. Its supervisor and writers never end: this is an
// experiment, run for one measurement.
func New[C any](deliver func(c C, frames [][]byte, first bool) bool, drop func(c C)) *Hub[C] {
	h := &Hub[C]{deliver: deliver, drop: drop}
	h.ready = sync.NewCond(&h.mu)
	go h.supervise()
	return h
}

// Join adds a subscriber last, and queues it for a writer's first look.
func (h *Hub[C]) Join(c C) *Subscriber[C] {
	s := &Subscriber[C]{Conn: c}
	h.mu.Lock()
	defer h.mu.Unlock()
	s.index = len(h.subs)
	h.subs = append(h.subs, s)
	h.schedule(s)
	return s
}

// Leave removes s, and waits until no writer has it: a handler must not
// return while a writer may use its ResponseWriter.
func (h *Hub[C]) Leave(s *Subscriber[C]) {
	h.mu.Lock()
	if !s.dropped {
		h.dropLocked(s)
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

// dropLocked takes s out of the hub. h.mu must be held.
func (h *Hub[C]) dropLocked(s *Subscriber[C]) {
	s.dropped = true
	s.pending = nil
	h.drop(s.Conn)
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
func (h *Hub[C]) schedule(s *Subscriber[C]) {
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

// Publish encodes one frame and gives it to every subscriber, in the order
// they joined, dropping those that are too far behind.
func (h *Hub[C]) Publish(id uint64, data []byte) error {
	f := broadcast.Frame(id, data)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.subs {
		if s == nil {
			continue
		}
		if len(s.pending) >= subscriberBuffer {
			h.dropLocked(s)
			continue
		}
		s.pending = append(s.pending, f)
		h.schedule(s)
	}
	return nil
}

// write is one writer: it writes the pending frames of the subscribers
// queued, one subscriber at a time.
func (h *Hub[C]) write() {
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
		frames, first := s.pending, !s.started
		s.pending, s.started = nil, true
		dropped := s.dropped
		h.mu.Unlock()
		ok := !dropped && h.deliver(s.Conn, frames, first)
		h.mu.Lock()
		if !ok && !s.dropped {
			h.dropLocked(s)
		}
		s.scheduled = false
		if len(s.pending) > 0 && !s.dropped {
			h.schedule(s)
		}
	}
}

// supervise adds a writer whenever the queue has not moved for a
// millisecond while every writer is busy: they are all held by clients
// that do not read, and the others must not wait for them.
func (h *Hub[C]) supervise() {
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
