package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/internal/rawquery"
)

// ParamError reports a query parameter that is malformed, out of range or
// not one of the values allowed. Its JSON form is the body of every 400
// response of this package's handlers:
//
//	{"parameter":"count","value":"0","min":1,"max":1000000000,"error":"query parameter \"count\" must be an integer from 1 to 1000000000"}
//	{"parameter":"format","value":"xml","allowed":["csv","ndjson"],"error":"query parameter \"format\" must be one of [\"csv\" \"ndjson\"]"}
//
// An integer parameter has "min" and "max"; a parameter with a list of
// values has "allowed" instead.
type ParamError struct {
	Param   string   `json:"parameter"`         // the parameter's name
	Value   string   `json:"value"`             // the value received, cut to 64 bytes
	Min     int64    `json:"min"`               // an integer's smallest allowed value
	Max     int64    `json:"max"`               // an integer's largest allowed value
	Allowed []string `json:"allowed,omitempty"` // the values allowed, if a list
	Msg     string   `json:"error"`             // a sentence saying what is wrong
}

// Error returns the message.
func (e *ParamError) Error() string { return e.Msg }

// MarshalJSON writes the error's JSON form: with "min" and "max" for an
// integer parameter, with "allowed" instead for a parameter with a list of
// values.
func (e *ParamError) MarshalJSON() ([]byte, error) {
	type plain ParamError // without this method
	if e.Allowed == nil {
		return json.Marshal((*plain)(e))
	}
	return json.Marshal(struct {
		Param   string   `json:"parameter"`
		Value   string   `json:"value"`
		Allowed []string `json:"allowed"`
		Msg     string   `json:"error"`
	}{e.Param, e.Value, e.Allowed, e.Msg})
}

// badRequest answers 400 with err's JSON form, records err on c and aborts
// it.
func badRequest(c *gin.Context, err *ParamError) {
	_ = c.Error(err)
	c.AbortWithStatusJSON(http.StatusBadRequest, err)
}

// intParam returns the integer query parameter name of c: def when it is
// absent, or its value when it is a decimal integer from lo to hi. Any
// other value is a *ParamError.
//
// A query string that net/url cannot parse (a bad escape, a semicolon, more
// than 10,000 parameters) is refused the same way: gin would silently drop
// parameters from it, and a value the client sent would quietly become the
// default.
func intParam(c *gin.Context, name string, def, lo, hi int64) (int64, *ParamError) {
	raw, ok, err := queryParam(c, name)
	if err != nil {
		return 0, &ParamError{
			Param: name, Min: lo, Max: hi,
			Msg: fmt.Sprintf("the query string is malformed (%v), so query parameter %q, an integer from %d to %d, cannot be read", err, name, lo, hi),
		}
	}
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, &ParamError{
			Param: name, Value: shorten(raw), Min: lo, Max: hi,
			Msg: fmt.Sprintf("query parameter %q must be an integer from %d to %d", name, lo, hi),
		}
	}
	return v, nil
}

// choiceParam returns the query parameter name of c when it is one of
// allowed (in any case if fold is set, and then as allowed spells it), or
// "" when it is absent. Any other value, or a query string that net/url
// cannot parse, is a *ParamError.
func choiceParam(c *gin.Context, name string, allowed []string, fold bool) (string, *ParamError) {
	raw, present, err := queryParam(c, name)
	switch {
	case err != nil:
		return "", &ParamError{Param: name, Allowed: allowed,
			Msg: fmt.Sprintf("the query string is malformed (%v), so query parameter %q cannot be read", err, name)}
	case !present:
		return "", nil
	}
	if i := slices.IndexFunc(allowed, func(a string) bool { return a == raw || fold && strings.EqualFold(a, raw) }); i >= 0 {
		return allowed[i], nil
	}
	return "", &ParamError{Param: name, Allowed: allowed, Value: shorten(raw),
		Msg: fmt.Sprintf("query parameter %q must be one of %q", name, allowed)}
}

// queryParam returns the first value of the query parameter name of c and
// whether it is present, or the error net/url finds in c's query string.
// It reads the query string itself (rawquery.Get) rather than through
// gin's GetQuery, which keeps the parsed query in the Context for as long
// as the handler runs: 0.3–0.4 KiB more per open event stream, for a value
// read once.
func queryParam(c *gin.Context, name string) (string, bool, error) {
	return rawquery.Get(c.Request.URL.RawQuery, name)
}

// shorten cuts a parameter's value to at most 64 bytes for an error body.
func shorten(value string) string {
	if len(value) > 64 {
		return value[:64] + "…"
	}
	return value
}
