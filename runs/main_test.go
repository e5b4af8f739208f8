package runs_test

import (
	"testing"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// run, producer, keeper, watcher, stream and connection must have ended
// when the tests return.
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}
