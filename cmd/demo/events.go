package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/sse"
)

// The demo's Server-Sent Events: /events streams the topics of a hub that
// a publisher fills with made-up activity, /stream/logs streams the demo
// log's lines through the same hub to clients that accept
// text/event-stream. The hub lives as long as run; shutdown closes it
// first, so that every event stream ends with a "shutdown" event telling
// the browser when to come back, and a browser that comes back to the
// restarted demo gets a "reset" event (its ids are from the hub's earlier
// life) instead of silently missing events.

// eventTopics are the topics of /events; the first is the default.
var eventTopics = []string{"ticks", "orders"}

// The names of the demo's own events.
const (
	eventTick    = "tick"    // topic ticks: {"n": 7, "time": "…"}
	eventOrder   = "order"   // topic orders: an order as JSON
	eventShipped = "shipped" // topic orders: two lines of text
)

// eventRetry is how long browsers wait before reconnecting: short, so that
// the page visibly comes back soon after a restart.
const eventRetry = 2 * time.Second

// publisher publishes the demo's events: a tick on topic ticks every
// interval, and on topic orders an order every third tick and a shipping
// note every fourth order.
type publisher struct {
	hub      sse.Hub
	interval time.Duration
	logger   *slog.Logger
}

// run publishes until ctx ends or the hub is closed.
func (p *publisher) run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for n := 1; ; n++ {
		var now time.Time
		select {
		case <-ctx.Done():
			return
		case now = <-t.C:
		}
		for _, m := range demoEvents(n, now) {
			_, err := p.hub.Publish(ctx, m.topic, m.event)
			switch {
			case err == nil:
			case errors.Is(err, sse.ErrHubClosed), ctx.Err() != nil:
				return
			default:
				p.logger.Error("publishing an event", "topic", m.topic, "err", err)
			}
		}
	}
}

// topicEvent is an event for a topic.
type topicEvent struct {
	topic string
	event sse.Event
}

// demoEvents returns the events of the nth tick, at time t.
func demoEvents(n int, t time.Time) []topicEvent {
	tick, _ := json.Marshal(struct {
		N    int    `json:"n"`
		Time string `json:"time"`
	}{n, t.UTC().Format("2006-01-02T15:04:05.000Z")})
	events := []topicEvent{{"ticks", sse.Event{Name: eventTick, Data: string(tick)}}}
	if n%3 != 0 {
		return events
	}
	k := n / 3 // the order's number
	u := newUser(k)
	order, _ := json.Marshal(struct {
		Order int    `json:"order"`
		User  string `json:"user"`
		Items int    `json:"items"`
		Total string `json:"total"`
	}{k, u.name, 1 + k%5, fmt.Sprintf("%d.%02d", 5+k*37%200, k*53%100)})
	events = append(events, topicEvent{"orders", sse.Event{Name: eventOrder, Data: string(order)}})
	if k%4 == 0 {
		// Two lines: the browser receives them joined with a line feed.
		note := fmt.Sprintf("order %d shipped\nto %s", k-2, newUser(k-2).name)
		events = append(events, topicEvent{"orders", sse.Event{Name: eventShipped, Data: note}})
	}
	return events
}

// runLogEvents publishes the demo log's lines until ctx ends or the hub is
// closed, starting over after a second if following the log fails.
func runLogEvents(ctx context.Context, logs *handlers.LogEvents, logger *slog.Logger) {
	for {
		err := logs.Run(ctx)
		if errors.Is(err, sse.ErrHubClosed) || ctx.Err() != nil {
			return
		}
		logger.Error("publishing the demo log", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// streamGroup counts the event streams that are running, so that shutdown
// can wait for them to end.
type streamGroup struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero
}

// serve runs h, counted among the group's streams while it runs.
func (g *streamGroup) serve(c *gin.Context, h gin.HandlerFunc) {
	g.mu.Lock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.n--; g.n == 0 {
			close(g.idle)
		}
	}()
	h(c)
}

// wait waits until no stream runs, or ctx ends; it returns ctx's error
// then.
func (g *streamGroup) wait(ctx context.Context) error {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return nil
	}
	idle := g.idle
	g.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// endEventStreams closes the hub, which ends every event stream with a
// "shutdown" event, and waits until they have ended or ctx ends.
func (a *app) endEventStreams(ctx context.Context) {
	_ = a.hub.Close()
	if err := a.eventStreams.wait(ctx); err != nil {
		a.logger.Warn("event streams still open after the shutdown event; cancelling them", "err", err)
	}
}
