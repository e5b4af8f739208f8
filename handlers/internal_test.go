package handlers

import "github.com/gin-gonic/gin"

// IntQuery is intParam answering 400 itself, for the tests of parameters
// (in package handlers_test) that were written against it.
func IntQuery(c *gin.Context, name string, def, lo, hi int64) (int64, bool) {
	v, err := intParam(c, name, def, lo, hi)
	if err != nil {
		badRequest(c, err)
		return 0, false
	}
	return v, true
}

// ChoiceError is the shape of a 400 body for a parameter with a list of
// values: a ParamError with Allowed.
type ChoiceError = ParamError
