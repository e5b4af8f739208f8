package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"
)

// ParamError reports a query parameter that is malformed or out of range.
// Its JSON form is the body of the 400 response that [IntQuery] sends.
type ParamError struct {
	Param string `json:"parameter"` // the parameter's name
	Value string `json:"value"`     // the value received
	Min   int64  `json:"min"`       // smallest allowed value
	Max   int64  `json:"max"`       // largest allowed value
	Msg   string `json:"error"`     // a sentence saying what is wrong
}

// Error returns the message.
func (e *ParamError) Error() string { return e.Msg }

// IntQuery returns the integer query parameter name of c: def when it is
// absent, or its value when it is a decimal integer from min to max. Any
// other value aborts c with 400 and a JSON [ParamError], and IntQuery
// returns false: the handler must then return.
//
// A query string that net/url cannot parse (a bad escape, a semicolon, more
// than 10,000 parameters) is refused the same way: gin would silently drop
// parameters from it, and a value the client sent would quietly become the
// default.
func IntQuery(c *gin.Context, name string, def, min, max int64) (int64, bool) {
	if err := malformedQuery(c); err != nil {
		pe := &ParamError{
			Param: name, Min: min, Max: max,
			Msg: fmt.Sprintf("the query string is malformed (%v), so query parameter %q, an integer from %d to %d, cannot be read", err, name, min, max),
		}
		_ = c.Error(pe)
		c.AbortWithStatusJSON(http.StatusBadRequest, pe)
		return 0, false
	}
	raw, ok := c.GetQuery(name)
	if !ok {
		return def, true
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < min || v > max {
		pe := &ParamError{
			Param: name, Value: shorten(raw), Min: min, Max: max,
			Msg: fmt.Sprintf("query parameter %q must be an integer from %d to %d", name, min, max),
		}
		_ = c.Error(pe)
		c.AbortWithStatusJSON(http.StatusBadRequest, pe)
		return 0, false
	}
	return v, true
}

// malformedQuery returns the error net/url finds in c's query string, or
// nil.
func malformedQuery(c *gin.Context) error {
	_, err := url.ParseQuery(c.Request.URL.RawQuery)
	return err
}

// shorten cuts a parameter's value to at most 64 bytes for an error body,
// as IntQuery does.
func shorten(value string) string {
	if len(value) > 64 {
		return value[:64] + "…"
	}
	return value
}
