package main

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// newRouter returns the demo's routes.
func newRouter() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	numbers := &sink.Writer[int]{Encoder: sink.Lines[int]{}}
	r.GET("/stream/numbers", func(c *gin.Context) {
		count, err := intParam(c, "count", 100, 1, 1_000_000_000)
		if err != nil {
			return
		}
		interval, err := intParam(c, "interval", 20, 0, 60_000)
		if err != nil {
			return
		}
		numbers.Stream(c, generator.Count(count, time.Duration(interval)*time.Millisecond))
	})
	return r
}

// intParam reads an integer query parameter, taking def when it is absent.
// A malformed or out-of-range value answers 400 with a JSON error that names
// the parameter and its range.
func intParam(c *gin.Context, name string, def, lo, hi int) (int, error) {
	raw, ok := c.GetQuery(name)
	if !ok {
		return def, nil
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < lo || v > hi {
		err = fmt.Errorf("query parameter %q must be an integer from %d to %d", name, lo, hi)
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": err.Error(), "parameter": name, "min": lo, "max": hi})
		return 0, err
	}
	return v, nil
}
