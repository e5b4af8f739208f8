package handlers

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// A RunKind makes the producer of a run from the request that starts it,
// after checking the request's parameters: an error with a 4xx status
// (sink.WithStatus, a *ParamError) refuses the start with that status and
// message, and starts nothing.
type RunKind func(c *gin.Context) (generator.Func[sse.Event], error)

// Runs serves the runs of a runs.Manager over HTTP. Register its handler
// for the collection and for a run, whose route parameter must be named
// id:
//
//	h := handlers.Runs{Manager: m, Kinds: kinds}.Handler()
//	r.POST("/runs", h)        // ?kind=NAME: 201, Location: /runs/{id}, the Info as JSON
//	r.GET("/runs/:id", h)     // attach: SSE or NDJSON (runs.Manager.Attach)
//	r.DELETE("/runs/:id", h)  // cancel: 200 and the Info as JSON
//
// A POST with an Idempotency-Key header seen before answers 201 with the
// Location of the run it started (and the header Idempotent-Replayed:
// true), starting nothing. An Idempotency-Key is 1 to 255 visible ASCII
// characters; another is answered 400. A start over a bound is answered 429
// with Retry-After (5 s), a closed Manager 503 with Retry-After (2 s); a
// kind not in Kinds (or none) 400 with a JSON [ParamError] naming the kinds
// allowed; an unknown run 404, a run past its retention 410. Other
// methods, and a POST to a run or a GET or DELETE without one, are
// answered 405 with Allow.
type Runs struct {
	// Manager runs the runs. Required.
	Manager *runs.Manager
	// Kinds are the runs a POST may start, by the value of its "kind"
	// query parameter. Required.
	Kinds map[string]RunKind
	// Authorize, if set, checks each request for the run's id (empty for
	// a start) before anything is done; see [Authorizer]. A run's stream
	// is not ended at until: only an until that has passed refuses.
	Authorize Authorizer
	// Client names a request's client for Manager.MaxPerClient; nil means
	// c.ClientIP().
	Client func(c *gin.Context) string
}

// The Retry-After of a refused start: a run's slot frees when a run ends,
// which takes a while; a closed Manager is an instance going away, and the
// retry goes to another.
const (
	runsBusyRetryAfter   = "5"
	runsClosedRetryAfter = "2"
)

// Handler returns the handler of h's routes. It panics if Manager or Kinds
// is missing.
func (h Runs) Handler() gin.HandlerFunc {
	switch {
	case h.Manager == nil:
		panic("handlers: Runs.Manager is nil")
	case len(h.Kinds) == 0:
		panic("handlers: Runs.Kinds is empty")
	}
	kinds := maps.Clone(h.Kinds)
	names := slices.Sorted(maps.Keys(kinds))
	return func(c *gin.Context) {
		id := c.Param("id")
		switch {
		case id == "" && c.Request.Method == http.MethodPost:
			h.start(c, kinds, names)
		case id != "" && c.Request.Method == http.MethodGet:
			if h.authorized(c, id) {
				h.Manager.Attach(c, id)
			}
		case id != "" && c.Request.Method == http.MethodDelete:
			if h.authorized(c, id) {
				h.cancel(c, id)
			}
		case id == "":
			c.Header("Allow", http.MethodPost)
			c.String(http.StatusMethodNotAllowed, "405 Method Not Allowed\n")
		default:
			c.Header("Allow", "GET, DELETE")
			c.String(http.StatusMethodNotAllowed, "405 Method Not Allowed\n")
		}
	}
}

// authorized asks Authorize about the run id ("" for a start); if it
// refuses, the request is answered.
func (h Runs) authorized(c *gin.Context, id string) bool {
	_, ok := h.Authorize.check(c, id, h.Manager.Events.Config)
	return ok
}

// start serves a POST: it starts a run of the kind asked for.
func (h Runs) start(c *gin.Context, kinds map[string]RunKind, names []string) {
	kind, perr := choiceParam(c, "kind", names, false)
	if perr == nil && kind == "" {
		perr = &ParamError{Param: "kind", Allowed: names, Msg: fmt.Sprintf("query parameter %q is required, one of %q", "kind", names)}
	}
	if perr != nil {
		badRequest(c, perr)
		return
	}
	key := c.GetHeader("Idempotency-Key")
	if _, sent := c.Request.Header["Idempotency-Key"]; sent && !validIdempotencyKey(key) {
		h.fail(c, sink.WithStatus(http.StatusBadRequest, errors.New("the Idempotency-Key header must be 1 to 255 visible ASCII characters")))
		return
	}
	if !h.authorized(c, "") {
		return
	}
	producer, err := kinds[kind](c)
	if err != nil {
		var pe *ParamError
		if errors.As(err, &pe) {
			badRequest(c, pe)
		} else {
			h.fail(c, err)
		}
		return
	}
	client := c.ClientIP()
	if h.Client != nil {
		client = h.Client(c)
	}
	info, created, err := h.Manager.Start(runs.Spec{Kind: kind, IdempotencyKey: key, Client: client}, producer)
	switch {
	case errors.Is(err, runs.ErrTooMany), errors.Is(err, runs.ErrClientBusy):
		c.Header("Retry-After", runsBusyRetryAfter)
	case errors.Is(err, runs.ErrClosed):
		c.Header("Retry-After", runsClosedRetryAfter)
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Location", strings.TrimSuffix(c.Request.URL.Path, "/")+"/"+url.PathEscape(info.ID))
	if !created {
		c.Header("Idempotent-Replayed", "true")
	}
	c.JSON(http.StatusCreated, info)
}

// cancel serves a DELETE: it cancels the run id.
func (h Runs) cancel(c *gin.Context, id string) {
	info, err := h.Manager.Cancel(c.Request.Context(), id)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, info)
}

// fail answers a request that failed before anything was sent, as a
// stream would be (see sink.Writer.Fail).
func (h Runs) fail(c *gin.Context, err error) {
	w := sink.Writer[[]byte]{Config: h.Manager.Events.Config}
	w.Fail(c, err)
}

// validIdempotencyKey reports whether key is 1 to 255 visible ASCII
// characters.
func validIdempotencyKey(key string) bool {
	if key == "" || len(key) > 255 {
		return false
	}
	for i := range len(key) {
		if key[i] <= ' ' || key[i] >= 0x7f {
			return false
		}
	}
	return true
}
