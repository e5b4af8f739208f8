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

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
	"github.com/ginstream/ginstream/loadtest/sidebyside/peers/internal/poolhub"
)

// head is the response's head: the body is close-delimited.
const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"

// deliver writes frames to conn, in one write.
func deliver(conn net.Conn, frames [][]byte, _ bool) bool {
	bufs := net.Buffers(frames)
	_, err := bufs.WriteTo(conn)
	return err == nil
}

// serve hijacks the connection, writes the head, joins the hub and
// returns; a goroutine of the subscriber's waits for the client to close
// the connection, or for the hub to close it when it drops the
// subscriber.
func serve(h *poolhub.Hub[net.Conn], c *gin.Context) {
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
	s := h.Join(conn)
	go func() {
		var b [1]byte
		_, _ = conn.Read(b[:])
		h.Leave(s)
	}()
}

func main() {
	h := poolhub.New(deliver, func(c net.Conn) { c.Close() })
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/events", func(c *gin.Context) { serve(h, c) })
	broadcast.Main("/events", r, h.Publish)
}
