package pgtest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ginstream/ginstream/internal/pgtest"
)

// TestMain shares one server among the tests that ask for it, stops it after
// them, and then fails the run if any goroutine is left: a Server and the
// pools the package opens must leave nothing running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Main(m))
}
