package sse_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/sse"
)

// A client that received the first event and reconnects with its id gets
// the events it missed, then the live ones.
func ExampleMemHub() {
	hub := &sse.MemHub{}
	defer hub.Close()
	ctx := context.Background()
	first, _ := hub.Publish(ctx, "news", sse.Event{Data: "one"})
	hub.Publish(ctx, "news", sse.Event{Name: "update", Data: "two"})
	hub.Publish(ctx, "news", sse.Event{Data: "three"})

	stop := errors.New("seen enough")
	err := hub.Subscribe(ctx, "news", first.ID, func(f sse.Frame) error {
		e := f.Event()
		fmt.Printf("%s %q\n", e.Name, e.Data)
		if e.Data == "three" {
			return stop
		}
		return nil
	})
	fmt.Println(err)
	// Output:
	// update "two"
	//  "three"
	// seen enough
}

// A server streams a hub's topics to browsers, and ends the streams
// cleanly, with a retry hint, when it shuts down.
func ExampleWriter() {
	hub := &sse.MemHub{Policy: sse.DropOldest}
	events := &sse.EventWriter{Retry: 5 * time.Second}

	r := gin.New()
	r.GET("/events", func(c *gin.Context) {
		topic := c.DefaultQuery("topic", "news")
		if topic != "news" && topic != "alerts" {
			c.String(http.StatusNotFound, "no such topic\n")
			return
		}
		events.Subscribe(c, hub, topic) // resumes from Last-Event-ID
	})
	r.POST("/alerts", func(c *gin.Context) {
		e, err := hub.Publish(c.Request.Context(), "alerts", sse.Event{Name: "alert", Data: c.PostForm("text")})
		if err != nil {
			c.String(http.StatusServiceUnavailable, "%v\n", err)
			return
		}
		c.String(http.StatusOK, "published %s\n", e.ID)
	})

	srv := &http.Server{Addr: "localhost:8080", Handler: r}
	srv.RegisterOnShutdown(func() { hub.Close() }) // streams never go idle
	// go srv.ListenAndServe(); … srv.Shutdown(ctx)
}
