package generator_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// goroutine a Group starts must have ended once its Close has returned.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
