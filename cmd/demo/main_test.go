package main

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ginstream/ginstream/internal/pgtest"
)

// TestMain shares one throwaway PostgreSQL among the tests that ask for
// one, and fails the run if any goroutine outlives the tests: run must join
// everything it starts.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Main(m))
}
