package ginstream_test

import (
	"testing"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// producer, handler, server and client connection they start must end.
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}
