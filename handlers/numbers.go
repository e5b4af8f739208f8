package handlers

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// Numbers streams the numbers 1, 2, … count as lines of text, interval
// milliseconds apart — the Koa tutorial's /stream/numbers:
//
//	r.GET("/stream/numbers", handlers.Numbers{Config: streams}.Handler())
//
// The query parameters count (default 100, from 1 to 1,000,000,000) and
// interval (default 20, from 0 to 60,000; 0 sends them as fast as the
// client reads) set the stream. A parameter that is absent takes its
// default; a malformed or out-of-range one is answered with 400 and a JSON
// [ParamError] naming it and its range, as is a query string that net/url
// cannot parse (more than 10,000 parameters, a bad escape, a semicolon),
// which would otherwise lose the parameters silently. A stream that would
// run longer than Config.MaxDuration ((count-1) × interval) is answered 400
// too, naming both parameters, instead of being cut when its time is up.
//
// The zero value is ready to use.
type Numbers struct {
	// Config holds the settings every stream shares (see sink.Config).
	sink.Config
}

// Handler returns the gin handler that streams the numbers a request asks
// for.
func (n Numbers) Handler() gin.HandlerFunc {
	w := &sink.Writer[int]{Encoder: sink.Lines[int]{}, Config: n.Config}
	return func(c *gin.Context) {
		count, err := intParam(c, "count", 100, 1, 1_000_000_000)
		if err != nil {
			badRequest(c, err)
			return
		}
		interval, err := intParam(c, "interval", 20, 0, 60_000)
		if err != nil {
			badRequest(c, err)
			return
		}
		pace := time.Duration(interval) * time.Millisecond
		if d := time.Duration(count-1) * pace; n.MaxDuration > 0 && d > n.MaxDuration {
			badRequest(c, &ParamError{
				Param: "count", Value: strconv.FormatInt(count, 10), Min: 1, Max: int64(n.MaxDuration/max(pace, 1)) + 1,
				Msg: fmt.Sprintf("count %d at an interval of %d ms would take %v, longer than a stream may run (%v)", count, interval, d, n.MaxDuration),
			})
			return
		}
		w.Stream(c, generator.Count(int(count), pace))
	}
}
