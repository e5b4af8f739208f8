package main

import (
	"context"
	_ "embed"
	"os"
	"path/filepath"
	"regexp"

	"github.com/ginstream/ginstream/loadtest/internal/librarybuild"
)

// referenceSource is the reference server's program. Its ignore build tag
// keeps it out of this module; buildReference builds it in the library's
// module, as the demo is built, so that both servers are built with the
// same dependencies (pgx among them).
//
//go:embed reference/main.go
var referenceSource []byte

// referenceReady matches the line in which the reference server says
// where it listens.
var referenceReady = regexp.MustCompile(`^reference: listening on (\S+)$`)

// buildDemo builds the demo into dir and returns the binary's path. It
// builds in the library's module, with that module's dependencies, as go
// build ./cmd/demo there would.
func buildDemo(ctx context.Context, dir string) (string, error) {
	return librarybuild.Build(ctx, filepath.Join(dir, "demo"), "./cmd/demo")
}

// buildReference writes the reference server's source into dir and builds
// it there, in the library's module, and returns the binary's path.
func buildReference(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "reference.go")
	if err := os.WriteFile(src, referenceSource, 0o644); err != nil {
		return "", err
	}
	// A file named on the command line is built whatever its build tags.
	return librarybuild.Build(ctx, filepath.Join(dir, "reference"), src)
}
