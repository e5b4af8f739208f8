package main

import (
	"context"
	"path/filepath"

	"github.com/ginstream/ginstream/loadtest/internal/librarybuild"
)

// buildDemo builds the demo into dir and returns the binary's path. It
// builds in the library's module, with that module's dependencies, as go
// build ./cmd/demo there would.
func buildDemo(ctx context.Context, dir string) (string, error) {
	return librarybuild.Build(ctx, filepath.Join(dir, "demo"), "./cmd/demo")
}
