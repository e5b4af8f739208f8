// Command pooled is an experiment of the side-by-side program: an SSE
// broadcaster served through gin (gin.New with Recovery, as the ginstream
// peer), with no library, whose handlers never write. Each handler sets
// its headers, joins the hub and waits, shallow on its stack, for its
// client to leave or the hub to drop it; every write (the headers' flush,
// then the frames) is made by a pool of writers that grows when all of
// its writers are held by clients that do not read (poolhub, which the
// hijacked experiment shares). It measures what
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

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
	"github.com/ginstream/ginstream/loadtest/sidebyside/peers/internal/poolhub"
)

// conn is a subscriber's response.
type conn struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	done chan struct{} // closed when it is dropped or its write failed
}

// deliver writes frames to c, after flushing its headers the first time.
func deliver(c conn, frames [][]byte, first bool) bool {
	if first {
		if c.rc.Flush() != nil {
			return false
		}
	}
	for _, f := range frames {
		if _, err := c.w.Write(f); err != nil {
			return false
		}
	}
	return len(frames) == 0 || c.rc.Flush() == nil
}

// serve holds the subscriber's connection until its client leaves or the
// hub drops it. It writes nothing itself: a writer flushes its headers.
func serve(h *poolhub.Hub[conn], w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	s := h.Join(conn{w: w, rc: http.NewResponseController(w), done: make(chan struct{})})
	select {
	case <-r.Context().Done():
	case <-s.Conn.done:
	}
	h.Leave(s)
}

func main() {
	h := poolhub.New(deliver, func(c conn) { close(c.done) })
	// Served through gin, as ginstream's streams are, so that its Context
	// and frames count: the ginstream peer's router.
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/events", func(c *gin.Context) { serve(h, c.Writer, c.Request) })
	broadcast.Main("/events", r, h.Publish)
}
