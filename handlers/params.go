package handlers

import (
	"fmt"
	"net/http"
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
func IntQuery(c *gin.Context, name string, def, min, max int64) (int64, bool) {
	raw, ok := c.GetQuery(name)
	if !ok {
		return def, true
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < min || v > max {
		shown := raw
		if len(shown) > 64 {
			shown = shown[:64] + "…"
		}
		pe := &ParamError{
			Param: name, Value: shown, Min: min, Max: max,
			Msg: fmt.Sprintf("query parameter %q must be an integer from %d to %d", name, min, max),
		}
		_ = c.Error(pe)
		c.AbortWithStatusJSON(http.StatusBadRequest, pe)
		return 0, false
	}
	return v, true
}
