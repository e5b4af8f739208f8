// Package librarybuild builds programs of the library's module — the demo,
// a reference server — for the load programs, which run them as child
// processes. The load-test module requires the library and replaces it
// with the working tree's copy (../), so the library's directory is found
// with go list from anywhere in either module, and a program is built
// there, with the library's own dependencies, as go build there would.
// BuildIn builds in another module of the build list, such as the
// load-test module itself (LoadtestModule), for programs that need its
// dependencies (go-sse and r3labs/sse, which the library does not
// require).
package librarybuild

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the path of the library's module.
const Module = "github.com/ginstream/ginstream"

// LoadtestModule is the path of the load-test module.
const LoadtestModule = Module + "/loadtest"

// Build runs go build -o out with the given flags (such as -race) and
// target (a package such as ./cmd/demo, or a file) in the library's
// module, and returns the absolute path of the binary.
func Build(ctx context.Context, out, target string, flags ...string) (string, error) {
	return build(ctx, Module, out, []string{target}, flags)
}

// BuildFiles is Build of a program made of the Go files named (absolute
// paths), which go build compiles whatever their build tags say: a
// program kept out of the load-test module by an ignore tag.
func BuildFiles(ctx context.Context, out string, files []string, flags ...string) (string, error) {
	return build(ctx, Module, out, files, flags)
}

// BuildIn is Build in the module whose path is module, which must be in
// the build list of the module the current directory is in.
func BuildIn(ctx context.Context, module, out, target string, flags ...string) (string, error) {
	return build(ctx, module, out, []string{target}, flags)
}

// build runs go build -o out flags targets in module's directory.
func build(ctx context.Context, module, out string, targets, flags []string) (string, error) {
	root, err := moduleDir(ctx, module)
	if err != nil {
		return "", err
	}
	bin, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	args := append(append([]string{"build", "-o", bin}, flags...), targets...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), root, err, out)
	}
	return bin, nil
}

// Dir returns the directory of the library's module in the build list of
// the module the current directory is in.
func Dir(ctx context.Context) (string, error) { return moduleDir(ctx, Module) }

// moduleDir returns the directory of module in the build list of the
// module the current directory is in.
func moduleDir(ctx context.Context, module string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", module)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s (run the load program from its module, loadtest/, or the library's): %w\n%s", module, err, &stderr)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("go list -m %s: no directory (is the module downloaded?)", module)
	}
	return dir, nil
}
