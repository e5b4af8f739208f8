package topiclog

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a delivery outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
