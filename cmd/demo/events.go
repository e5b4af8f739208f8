package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/ticket"
)

// The demo's Server-Sent Events: /events streams the topics of a hub that
// a publisher fills with made-up activity, one of them private (a page
// needs a ticket for it, see eventTickets), and /stream/logs streams
// the demo log's lines through the same hub to clients that accept
// text/event-stream. The hub lives as long as run; shutdown closes it
// first, so that every event stream ends with a "shutdown" event telling
// the browser when to come back, and a browser that comes back to the
// restarted demo gets a "reset" event (its ids are from the hub's earlier
// life) instead of silently missing events.

// eventTopics are the topics of /events; the first is the default.
var eventTopics = []string{"ticks", "orders", privateTopic}

// privateTopic is the topic of /events that only a page with a ticket may
// stream (see eventTickets); the others are public.
const privateTopic = "private"

// The names of the demo's own events.
const (
	eventTick    = "tick"    // topic ticks: {"n": 7, "time": "…"}
	eventOrder   = "order"   // topic orders: an order as JSON
	eventShipped = "shipped" // topic orders: two lines of text
	eventBalance = "balance" // topic private: {"n": 3, "balance": "1219.87"}
)

// eventRetry is how long browsers wait before reconnecting: short, so that
// the page visibly comes back soon after a restart.
const eventRetry = 2 * time.Second

// publisher publishes the demo's events: a tick on topic ticks every
// interval, on topic private an account's balance every second tick, and
// on topic orders an order every third tick and a shipping note every
// fourth order.
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
	if n%2 == 0 {
		k := n / 2
		balance, _ := json.Marshal(struct {
			N       int    `json:"n"`
			Balance string `json:"balance"`
		}{k, fmt.Sprintf("%d.%02d", 1000+k*73%5000, k*29%100)})
		events = append(events, topicEvent{privateTopic, sse.Event{Name: eventBalance, Data: string(balance)}})
	}
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

// ticketTTL is how long a ticket for the private topic is good for, and so
// how long a stream of it lasts before the page gets a new ticket and
// resumes. A variable so that a test can shorten it (before it starts the
// demo).
var ticketTTL = time.Minute

// eventTickets guards the private topic of /events with tickets (see
// handlers.Events.Authorize and package ticket): a page fetches one from
// GET /events/ticket?topic=private, opens
// EventSource("/events?topic=private&ticket=…"), and the stream ends when
// the ticket expires; the page then fetches a new one and resumes. The
// key is made anew each time the demo starts, so that a restart makes
// every outstanding ticket fail (the page gets a new one); servers that
// share their events (-nats) would need to share the key too.
type eventTickets struct {
	signer *ticket.Signer
}

// newEventTickets returns eventTickets with a random key.
func newEventTickets() *eventTickets {
	key := make([]byte, ticket.MinKeySize)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	signer, err := ticket.NewSigner(key)
	if err != nil {
		panic(err) // cannot happen: the key is long enough
	}
	return &eventTickets{signer: signer}
}

// subject is what a ticket for topic grants. The demo has no users; an
// app with users makes it the user and the topic, user+" events:"+topic,
// so that one user's ticket opens nothing of another's.
func (t *eventTickets) subject(topic string) string { return "events:" + topic }

// issue answers GET /events/ticket?topic=private with a ticket for the
// topic, as JSON: {"topic": "private", "ticket": "…", "expires": "…"}.
//
// A real app would first check who is asking, through its session (a
// cookie, SameSite=Lax or Strict), and refuse with 401 a request
// without one, or 403 a user who may not read the topic; the demo has no
// users and gives a ticket to every page of its own. That is what the
// Sec-Fetch-Site check is for: browsers say where a request comes from,
// and a request from another site's page is refused (clients that do not
// send the header, such as curl, are let through). The answer is never
// stored by a cache (Cache-Control: no-store): a ticket is a credential.
func (t *eventTickets) issue(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	if site := c.GetHeader("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		c.String(http.StatusForbidden, "403 Forbidden: tickets are only for this site's own pages (Sec-Fetch-Site: %s)\n", site)
		return
	}
	topic := c.Query("topic")
	if topic != privateTopic {
		value := topic
		if len(value) > 64 {
			value = value[:64] + "…"
		}
		allowed := []string{privateTopic}
		c.JSON(http.StatusBadRequest, &handlers.ParamError{
			Param: "topic", Value: value, Allowed: allowed,
			Msg: fmt.Sprintf("query parameter %q must be one of %q, the topics that need a ticket", "topic", allowed),
		})
		return
	}
	token, expires := t.signer.Issue(t.subject(topic), ticketTTL)
	c.JSON(http.StatusOK, struct {
		Topic   string    `json:"topic"`
		Ticket  string    `json:"ticket"`
		Expires time.Time `json:"expires"`
	}{topic, token, expires.UTC()})
}

// authorize is /events' handlers.Events.Authorize: the public topics need
// nothing, the private one a ticket for it in ?ticket=, without which it
// is answered 401 (and the browser's EventSource gives up). The stream
// ends when the ticket expires. (The demo's access log leaves out query
// strings, so tickets do not reach it.)
func (t *eventTickets) authorize(c *gin.Context, topic string) (time.Time, error) {
	if topic != privateTopic {
		return time.Time{}, nil
	}
	token := c.Query("ticket")
	if token == "" {
		return unauthorized(c, fmt.Errorf("topic %s needs a ticket from /events/ticket?topic=%[1]s", topic))
	}
	until, err := t.signer.Check(token, t.subject(topic))
	if err != nil {
		return unauthorized(c, err)
	}
	return until, nil
}

// unauthorized refuses a request with 401, saying how to authenticate.
func unauthorized(c *gin.Context, err error) (time.Time, error) {
	c.Header("WWW-Authenticate", `Ticket realm="events"`)
	return time.Time{}, sink.WithStatus(http.StatusUnauthorized, err)
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

// endEventStreams closes the runs' Manager, which cancels the runs and
// ends their attached streams with their final event, then the hub, which
// ends every other event stream with a "shutdown" event, and waits until
// they have all ended or ctx ends.
func (a *app) endEventStreams(ctx context.Context) {
	closeRuns(a.runs, a.logger)
	_ = a.hub.Close()
	if err := a.eventStreams.wait(ctx); err != nil {
		a.logger.Warn("event streams still open after the shutdown event; cancelling them", "err", err)
	}
}
