package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// libraryModule is the path of the library's module, which holds the demo
// (./cmd/demo). This program's module requires it and replaces it with the
// working tree's copy (../), so go list finds its directory from anywhere
// in either module.
const libraryModule = "github.com/ginstream/ginstream"

// referenceSource is the reference server's program. Its ignore build tag
// keeps it out of this module, which does not depend on pgx; buildReference
// builds it in the library's module, which does.
//
//go:embed reference/main.go
var referenceSource []byte

// buildDemo builds the demo into dir and returns the binary's path. It
// builds in the library's module, with that module's dependencies, as go
// build ./cmd/demo there would.
func buildDemo(ctx context.Context, dir string) (string, error) {
	return goBuild(ctx, filepath.Join(dir, "demo"), "./cmd/demo")
}

// buildReference writes the reference server's source into dir and builds
// it there, in the library's module, and returns the binary's path.
func buildReference(ctx context.Context, dir string) (string, error) {
	src := filepath.Join(dir, "reference.go")
	if err := os.WriteFile(src, referenceSource, 0o644); err != nil {
		return "", err
	}
	// A file named on the command line is built whatever its build tags.
	return goBuild(ctx, filepath.Join(dir, "reference"), src)
}

// goBuild runs go build -o out target in the library's module.
func goBuild(ctx context.Context, out, target string) (string, error) {
	root, err := moduleDir(ctx, libraryModule)
	if err != nil {
		return "", err
	}
	bin, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	args := []string{"build", "-o", bin, target}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), root, err, out)
	}
	return bin, nil
}

// moduleDir returns the directory of the module path in the build list of
// the module the current directory is in.
func moduleDir(ctx context.Context, path string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s (run sidebyside from its module, loadtest/, or the library's): %w\n%s", path, err, &stderr)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go list -m %s: no directory (is the module downloaded?)", path)
	}
	return dir, nil
}
