package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// An Authorizer decides, before anything is sent and before the stream
// takes a slot of the Limit, whether a request may have the resource it
// asks for: the topic of [Events] and [LogEvents], the file of [Files],
// the download name of [Export], the log of [Tail]. Each of these handlers
// has an Authorize field of this type; nil lets every request through.
//
// An error refuses the request with the status sink.StatusOf gives the
// error and a one-line text body, reported and logged as a failed stream
// (see sink.Writer.Fail): return sink.WithStatus(http.StatusUnauthorized,
// err) for a request that does not prove who sent it, or proves it
// wrongly, and http.StatusForbidden for a sender who may not have the
// resource. The message of such a client error is sent, so let it say what
// is missing and nothing secret. An error without a status is a failure of
// the check itself (the session store is down): 500, and its message only
// logged. A 401 should name a way to authenticate in WWW-Authenticate,
// which the Authorizer may set on c; it must not write the response
// itself.
//
// A non-zero until ends the stream at that time, as Config.MaxDuration
// does (the earlier of the two wins), for a stream that may be watched only
// while its authorization lasts: an event stream ends with a retry field
// and a clean end, a text or CSV stream as a failed transfer. An until
// that has passed refuses the request with 401. [Files] sends files whole
// and does not use until.
//
// EventSource cannot send headers. A page proves who it is with a session
// cookie, sent with the request (same-origin, or with withCredentials),
// which the Authorizer checks as any route does, with the session's end as
// until; or, where no cookie reaches the stream, with a short-lived signed
// ticket in the query string (see package ticket):
//
//  1. the page fetches a ticket from a route of the app that checks its
//     session and answers with Cache-Control: no-store, such as
//     Signer.Issue(user+" "+topic, time.Minute) and its expiry;
//  2. it opens EventSource("/events?topic=private&ticket=…");
//  3. the Authorizer checks c.Query("ticket") for that user and topic, and
//     returns the ticket's expiry as until, so that the stream ends when
//     the ticket does;
//  4. EventSource reconnects with the expired ticket, is refused with 401
//     and closes; the page fetches a new ticket and opens a new EventSource
//     with ?lastEventId= the id of the last event it received (see
//     sse.LastEventID), which resumes the stream with nothing missed. (A
//     page that knows the expiry may do so as soon as the stream ends,
//     without the refused request.)
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
// A ticket in a URL reaches access logs and proxies: keep it short-lived
// and good for one user and resource.
type Authorizer func(c *gin.Context, resource string) (until time.Time, err error)

var errAuthorizationOver = errors.New("authorization expired")

// check asks a for resource and returns how long the stream may run: 0
// for as long as cfg allows. If a refuses, check answers the request and
// returns false. A nil a allows everything.
func (a Authorizer) check(c *gin.Context, resource string, cfg sink.Config) (time.Duration, bool) {
	if a == nil {
		return 0, true
	}
	refuse := &sink.Writer[[]byte]{Config: cfg}
	until, err := a(c, resource)
	if err != nil {
		refuse.Fail(c, err)
		return 0, false
	}
	if until.IsZero() {
		return 0, true
	}
	left := time.Until(until)
	if left <= 0 {
		refuse.Fail(c, sink.WithStatus(http.StatusUnauthorized, errAuthorizationOver))
		return 0, false
	}
	if cfg.MaxDuration > 0 && cfg.MaxDuration <= left {
		return 0, true
	}
	return left, true
}

// ending returns w, or, if the authorization ends first (left, from
// check, is positive), a copy of w whose streams end after left. It copies
// only then: the copy escapes, garbage among what thousands of idle event
// streams keep.
func ending(w *sse.EventWriter, left time.Duration) *sse.EventWriter {
	if left <= 0 {
		return w
	}
	ends := *w
	ends.MaxDuration = left
	return &ends
}
