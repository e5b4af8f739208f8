package main

import (
	"context"
	"os"
	"testing"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
	"go.uber.org/goleak"
)

// TestMain runs the server child when the test binary is re-executed as
// one (a load run starts os.Executable() with -serve, which in a test is
// this binary), and otherwise runs the tests and fails if any goroutine
// outlives them: a run must close and join every subscriber and wait for
// its child.
func TestMain(m *testing.M) {
	if isServe(os.Args[1:]) {
		cli.Main("sseload", func(ctx context.Context) error {
			return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		})
	}
	goleak.VerifyTestMain(m)
}
