package sink_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// stream's producers, its server connections and its clients must all have
// ended when the tests return.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
