// Command reference is the side-by-side program's plain net/http SSE
// broadcaster: what a Go programmer writes without a library. Each
// subscriber is a handler holding its connection with a buffered channel
// of frames; the broadcaster encodes an event once and offers the frame to
// every channel without waiting: a subscriber whose channel is full (it
// has fallen subscriberBuffer events behind: its client stopped reading)
// is dropped, so that it never holds up the others.
package main

import (
	"net/http"
	"sync"

	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
)

// subscriberBuffer is how many frames a subscriber may fall behind
// before it is dropped.
const subscriberBuffer = 64

// hub is the set of subscribers.
type hub struct {
	mu   sync.Mutex
	subs map[chan []byte]struct{}
}

// ServeHTTP streams the frames sent to the subscriber's channel until the
// client leaves or the hub drops it.
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	frames := make(chan []byte, subscriberBuffer)
	h.mu.Lock()
	h.subs[frames] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, frames)
		h.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case f, ok := <-frames:
			if !ok {
				return // dropped
			}
			if _, err := w.Write(f); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// publish sends one frame to every subscriber, dropping those that are
// too far behind.
func (h *hub) publish(id uint64, data []byte) error {
	f := broadcast.Frame(id, data)
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		select {
		case sub <- f:
		default:
			delete(h.subs, sub)
			close(sub)
		}
	}
	return nil
}

func main() {
	h := &hub{subs: make(map[chan []byte]struct{})}
	broadcast.Main("/events", h, h.publish)
}
