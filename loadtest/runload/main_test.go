package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails if any goroutine outlives the tests: a measurement must
// close and join every client and wait for its demo.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
