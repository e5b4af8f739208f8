package handlers

import (
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// Events streams a topic of an sse.Hub to a browser's EventSource, as
// Server-Sent Events that resume after a reconnect: the client names the
// topic with ?topic=, and the hub replays what it missed since its
// Last-Event-ID.
//
//	hub := &sse.MemHub{}
//	r.GET("/events", handlers.Events{Hub: hub, Topics: []string{"news", "alerts"}, Config: streams}.Handler())
//	// elsewhere: hub.Publish(ctx, "news", sse.Event{Name: "story", Data: "…"})
type Events struct {
	// Hub is where the events come from. It must not be nil.
	Hub sse.Hub

	// Topics are the topics a client may ask for; the first is the one
	// it gets without a ?topic= parameter. It must not be empty. The list
	// is what keeps clients from making topics of their own (a MemHub
	// makes one for any name it is asked for).
	Topics []string

	// Authorize, if not nil, decides whether the request may have the
	// topic it asks for (one of Topics), before anything is sent and
	// before the stream takes a slot of the Limit; see [Authorizer] for
	// the answers it may give and for how a page behind EventSource
	// proves who it is. A stream it gives an end (until) ends then with
	// a retry field and a clean end, after which EventSource reconnects
	// and Authorize decides again.
	Authorize Authorizer

	// Retry and Heartbeat are those of sse.EventWriter: the reconnection time
	// sent to clients, and how long a stream may be silent before a
	// heartbeat comment.
	Retry, Heartbeat time.Duration

	// Config holds the settings every stream shares (see sink.Config).
	sink.Config
}

// errAuthorizationOver refuses a request whose Authorize returned an until
// that had passed.
// Handler returns the gin handler that streams the topic named by ?topic=
// (the first of Topics when the parameter is absent), resuming after the
// client's Last-Event-ID header or, for clients that cannot set it, its
// lastEventId parameter (see sse.LastEventID). A topic not in Topics, or a
// query string that net/url cannot parse, is answered 400 with a JSON
// [ParamError] naming the allowed topics; an EventSource gives up for good
// on it. Authorize, if set, is asked next, and may refuse the request or
// set when its stream ends. Handler panics if Hub is nil or Topics empty.
func (e Events) Handler() gin.HandlerFunc {
	switch {
	case e.Hub == nil:
		panic("handlers: Events.Hub is nil")
	case len(e.Topics) == 0:
		panic("handlers: Events.Topics is empty")
	}
	topics := slices.Clone(e.Topics)
	w := &sse.EventWriter{Retry: e.Retry, Heartbeat: e.Heartbeat, Config: e.Config}
	return func(c *gin.Context) {
		topic, err := choiceParam(c, "topic", topics, false)
		switch {
		case err != nil:
			badRequest(c, err)
			return
		case topic == "":
			topic = topics[0]
		}
		left, ok := e.Authorize.check(c, topic, e.Config)
		if !ok {
			return
		}
		ending(w, left).Subscribe(c, e.Hub, topic)
	}
}
