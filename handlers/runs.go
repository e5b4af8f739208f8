package handlers

import (
	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// A RunKind makes the producer of a run from the request that starts it,
// after checking the request's parameters: an error with a 4xx status
// (sink.WithStatus, a *ParamError) refuses the start with that status and
// message, and starts nothing.
type RunKind func(c *gin.Context) (generator.Func[sse.Event], error)

// Runs serves the runs of a runs.Manager over HTTP. Register its handler
// for the collection and for a run:
//
//	h := handlers.Runs{Manager: m, Kinds: kinds}.Handler()
//	r.POST("/runs", h)        // ?kind=NAME: 201, Location: /runs/{id}, the Info as JSON
//	r.GET("/runs/:id", h)     // attach: SSE or NDJSON (runs.Manager.Attach)
//	r.DELETE("/runs/:id", h)  // cancel: 200 and the Info as JSON
//
// A POST with an Idempotency-Key header seen before answers 201 with the
// Location of the run it started (and the header Idempotent-Replayed:
// true), starting nothing. A start over a bound is answered 429 with
// Retry-After; a kind not in Kinds 400 naming the kinds allowed; an
// unknown run 404, a run past its retention 410.
type Runs struct {
	// Manager runs the runs. Required.
	Manager *runs.Manager
	// Kinds are the runs a POST may start, by the value of its "kind"
	// query parameter. Required.
	Kinds map[string]RunKind
	// Authorize, if set, checks each request for the run's id (empty for
	// a start) before anything is done.
	Authorize Authorizer
	// Client names a request's client for Manager.MaxPerClient; nil means
	// c.ClientIP().
	Client func(c *gin.Context) string
}

// Handler returns the handler of h's routes. It panics if Manager or Kinds
// is missing.
func (h Runs) Handler() gin.HandlerFunc {
	panic("handlers: Runs not built yet")
}
