package handlers

import (
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// Numbers streams the numbers 1, 2, … count as lines of text, interval
// milliseconds apart — the Koa tutorial's /stream/numbers:
//
//	r.GET("/stream/numbers", (&handlers.Numbers{}).Serve)
//
// The query parameters count (default 100, from 1 to 1,000,000,000) and
// interval (default 20, from 0 to 60,000; 0 sends them as fast as the
// client reads) set the stream. A parameter that is absent takes its
// default; a malformed or out-of-range one is answered with 400 and a JSON
// [ParamError] naming it and its range, as is a query string that net/url
// cannot parse (more than 10,000 parameters, a bad escape, a semicolon),
// which would otherwise lose the parameters silently.
//
// The zero value is ready to use, and a Numbers is safe for concurrent use.
type Numbers struct {
	// Limit, if not nil, caps the streams (of this and other handlers
	// sharing it) running at once; see [sink.Writer] Limit.
	Limit *sink.Limit

	// StallTimeout ends a stream whose client has accepted nothing for this
	// long. Zero means sink.DefaultStallTimeout; negative turns it off.
	StallTimeout time.Duration

	// OnReport, if not nil, is called with the report of every stream (for
	// metrics, such as
	// [github.com/ginstream/ginstream/streammetrics.Collector.Observe]).
	OnReport func(*gin.Context, sink.Report)

	// Logger logs streams that do not complete. Nil means slog.Default().
	Logger *slog.Logger

	// Compress compresses the stream with gzip or zstd when the client
	// accepts it, flushing with every batch; see [sink.Writer] Compress.
	Compress bool
}

// Serve streams the numbers the request asks for.
func (n *Numbers) Serve(c *gin.Context) {
	count, ok := IntQuery(c, "count", 100, 1, 1_000_000_000)
	if !ok {
		return
	}
	interval, ok := IntQuery(c, "interval", 20, 0, 60_000)
	if !ok {
		return
	}
	w := sink.Writer[int]{
		Encoder: sink.Lines[int]{},
		Limit:   n.Limit, StallTimeout: n.StallTimeout, OnReport: n.OnReport, Logger: n.Logger,
		Compress: n.Compress,
	}
	w.Stream(c, generator.Count(int(count), time.Duration(interval)*time.Millisecond))
}
