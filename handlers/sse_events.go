package handlers

import (
	"errors"
	"net/http"
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
	// before the stream takes a slot of the Limit. An error refuses it
	// with the status sink.StatusOf gives the error and a one-line text
	// body, reported and logged as a failed stream (see sink.Writer.Fail):
	// return sink.WithStatus(http.StatusUnauthorized, err) for a request
	// that does not prove who sent it, or proves it wrongly, and
	// http.StatusForbidden for a sender who may not have the topic. The
	// message of such a client error is sent, so let it say what is
	// missing and nothing secret. An error without a status is a failure
	// of the check itself (the session store is down): 500, and its
	// message only logged. EventSource gives up for good on any of them.
	//
	// A non-zero until ends the stream at that time, as Config.MaxDuration
	// does (the earlier of the two wins): with a retry field and a clean
	// end, after which EventSource reconnects with the same URL and
	// Authorize decides again. An until that has passed refuses the
	// request with 401.
	//
	// EventSource cannot send headers. A page proves who it is with a
	// session cookie, sent with the request (same-origin, or with
	// withCredentials), which Authorize checks as any route does, with
	// the session's end as until; or, where no cookie reaches the stream,
	// with a short-lived signed ticket in the query string (see package
	// ticket):
	//
	//  1. the page fetches a ticket from a route of the app that checks
	//     its session and answers with Cache-Control: no-store, such as
	//     Signer.Issue(user+" "+topic, time.Minute) and its expiry;
	//  2. it opens EventSource("/events?topic=private&ticket=…");
	//  3. Authorize checks c.Query("ticket") for that user and topic, and
	//     returns the ticket's expiry as until, so that the stream ends
	//     when the ticket does;
	//  4. EventSource reconnects with the expired ticket, is refused with
	//     401 and closes; the page fetches a new ticket and opens a new
	//     EventSource with ?lastEventId= the id of the last event it
	//     received (see sse.LastEventID), which resumes the stream with
	//     nothing missed. (A page that knows the expiry may do so as soon
	//     as the stream ends, without the refused request.)
	//
	// For an app whose tickets name the topic alone:
	//
	//	Authorize: func(c *gin.Context, topic string) (time.Time, error) {
	//		if topic != "private" {
	//			return time.Time{}, nil // public: no check, no end
	//		}
	//		until, err := tickets.Check(c.Query("ticket"), topic)
	//		if err != nil {
	//			c.Header("WWW-Authenticate", `Ticket realm="events"`)
	//			return time.Time{}, sink.WithStatus(http.StatusUnauthorized, err)
	//		}
	//		return until, nil
	//	},
	//
	// (A 401 should name a way to authenticate in WWW-Authenticate, which
	// Authorize may set on c; it must not write the response itself.) A ticket in a URL reaches access logs and
	// proxies: keep it short-lived and good for one user and topic.
	Authorize func(c *gin.Context, topic string) (until time.Time, err error)

	// Retry and Heartbeat are those of sse.EventWriter: the reconnection time
	// sent to clients, and how long a stream may be silent before a
	// heartbeat comment.
	Retry, Heartbeat time.Duration

	// Config holds the settings every stream shares (see sink.Config).
	sink.Config
}

// errAuthorizationOver refuses a request whose Authorize returned an until
// that had passed.
var errAuthorizationOver = errors.New("authorization expired")

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
	refuse := &sink.Writer[sse.Frame]{Config: e.Config}
	return func(c *gin.Context) {
		topic, err := choiceParam(c, "topic", topics, false)
		switch {
		case err != nil:
			badRequest(c, err)
			return
		case topic == "":
			topic = topics[0]
		}
		if e.Authorize == nil {
			w.Subscribe(c, e.Hub, topic)
			return
		}
		until, aerr := e.Authorize(c, topic)
		if aerr != nil {
			refuse.Fail(c, aerr)
			return
		}
		if until.IsZero() {
			w.Subscribe(c, e.Hub, topic)
			return
		}
		left := time.Until(until)
		if left <= 0 {
			refuse.Fail(c, sink.WithStatus(http.StatusUnauthorized, errAuthorizationOver))
			return
		}
		ended := *w
		if ended.MaxDuration <= 0 || left < ended.MaxDuration {
			ended.MaxDuration = left
		}
		ended.Subscribe(c, e.Hub, topic)
	}
}
