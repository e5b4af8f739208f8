package streammetrics_test

import (
	"testing"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: the
// streams' producers, server connections and clients must all have ended
// when the tests return. gin runs in test mode, without its debug output.
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}
