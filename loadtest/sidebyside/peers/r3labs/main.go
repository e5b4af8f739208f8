// Command r3labs is the side-by-side program's r3labs/sse server
// (github.com/r3labs/sse/v2), written as its README's example server
// shows: sse.New(), CreateStream("messages"), server.ServeHTTP on /events
// (clients ask for ?stream=messages), and server.Publish of an sse.Event.
// sse.New() turns AutoReplay on, which numbers the events itself (from 0)
// and keeps them all for replay; the README leaves it so.
package main

import (
	"net/http"

	"github.com/r3labs/sse/v2"

	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
)

func main() {
	server := sse.New()
	server.CreateStream("messages")
	broadcast.Main("/events", http.HandlerFunc(server.ServeHTTP), func(_ uint64, data []byte) error {
		server.Publish("messages", &sse.Event{Data: data})
		return nil
	})
}
