// Command ginstream is the side-by-side program's ginstream SSE server,
// written as ginstream's README shows an events route: gin, an sse.MemHub
// and handlers.Events streaming its topic "news" (each stream an
// sse.EventWriter subscribed to the hub), every setting at its default. It
// is the demo's /events without the rest of the demo (its ticks, log and
// database), so that only the events count. The hub assigns the ids.
package main

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
	"github.com/ginstream/ginstream/sse"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New() // gin.Default() but its logger, which would log every stream
	r.Use(gin.Recovery())
	hub := &sse.MemHub{}
	r.GET("/events", handlers.Events{Hub: hub, Topics: []string{"news"}}.Handler())
	broadcast.Main("/events", r, func(_ uint64, data []byte) error {
		_, err := hub.Publish(context.Background(), "news", sse.Event{Data: string(data)})
		return err
	})
}
