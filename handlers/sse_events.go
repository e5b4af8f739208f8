package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/sse"
)

// Events is a gin handler that streams a topic of an sse.Hub to a
// browser's EventSource, as Server-Sent Events that resume after a
// reconnect: the client names the topic with ?topic=, and the hub replays
// what it missed since its Last-Event-ID.
//
//	hub := &sse.MemHub{}
//	events := &handlers.Events{Hub: hub, Topics: []string{"news", "alerts"}}
//	r.GET("/events", events.Serve)
//	// elsewhere: hub.Publish(ctx, "news", sse.Event{Name: "story", Data: "…"})
type Events struct {
	// Hub is where the events come from. It must not be nil.
	Hub sse.Hub

	// Topics are the topics a client may ask for; the first is the one
	// it gets without a ?topic= parameter. It must not be empty (Serve
	// panics, a programmer's mistake, if it is). The list
	// is what keeps clients from making topics of their own (a MemHub
	// makes one for any name it is asked for).
	Topics []string

	// Writer configures the streams: retry time, heartbeats, stall
	// timeout, report hook, logger (see sse.Writer).
	Writer sse.Writer
}

// Serve streams the topic named by ?topic= (the first of Topics when the
// parameter is absent), resuming after the client's Last-Event-ID header
// or, for clients that cannot set it, its lastEventId parameter (see
// sse.LastEventID). A topic not in Topics, or a query string that net/url
// cannot parse, is answered 400 with a JSON error naming the allowed
// topics; an EventSource gives up for good on it.
func (e *Events) Serve(c *gin.Context) {
	topic, ok := oneOfQuery(c, "topic", e.Topics)
	if !ok {
		return
	}
	e.Writer.Subscribe(c, e.Hub, topic)
}

// ChoiceError reports a query parameter whose value is not one of those
// allowed. Its JSON form is the body of the 400 response that [Events]
// sends, in the shape of a [ParamError] with the allowed values in place
// of a range.
type ChoiceError struct {
	Param   string   `json:"parameter"` // the parameter's name
	Value   string   `json:"value"`     // the value received, shortened
	Allowed []string `json:"allowed"`   // the values allowed
	Msg     string   `json:"error"`     // a sentence saying what is wrong
}

// Error returns the message.
func (e *ChoiceError) Error() string { return e.Msg }

// oneOfQuery returns the query parameter name of c: allowed[0] when it is
// absent, or its value when it is one of allowed (exactly, case
// included). Any other value, or a query string that net/url cannot parse,
// aborts c with 400 and a JSON [ChoiceError], and oneOfQuery returns
// false: the handler must then return.
func oneOfQuery(c *gin.Context, name string, allowed []string) (string, bool) {
	if len(allowed) == 0 {
		panic(errors.New("handlers: no allowed values for query parameter " + name))
	}
	ce := &ChoiceError{Param: name, Allowed: allowed}
	raw, present := c.GetQuery(name)
	switch err := malformedQuery(c); {
	case err != nil:
		ce.Msg = fmt.Sprintf("the query string is malformed (%v), so query parameter %q cannot be read", err, name)
	case !present:
		return allowed[0], true
	case slices.Contains(allowed, raw):
		return raw, true
	default:
		ce.Value = shorten(raw)
		ce.Msg = fmt.Sprintf("query parameter %q must be one of %q", name, allowed)
	}
	_ = c.Error(ce)
	c.AbortWithStatusJSON(http.StatusBadRequest, ce)
	return "", false
}
