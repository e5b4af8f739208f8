// Package reference builds the reference server: the plain net/http
// program (no gin, no ginstream) whose source is the other files of this
// directory, against which the load programs measure the demo —
// loadtest/sidebyside, and loadtest/streamload's streams scenario with
// -reference. Those files are package main with an ignore build tag, which
// keeps them out of the load-test module; Build writes them out and builds
// them in the library's module, as the demo is built there, so that both
// servers are compiled by the same Go against the same pgx and SQLite.
//
//	bin, err := reference.Build(ctx, tmp)
//	srv, err := child.Start(ctx, "reference", bin, args, reference.Ready, time.Minute)
//
// The server's flags and routes are in main.go's doc comment.
package reference

import (
	"context"
	"embed"
	"os"
	"path/filepath"
	"regexp"

	"github.com/ginstream/ginstream/loadtest/internal/librarybuild"
)

// source is the server's program.
//
//go:embed main.go numbers.go export.go proxy.go logs.go logfile.go stall.go metrics.go files.go
var source embed.FS

// Ready matches the line in which the server says where it listens; its
// group is the address, host:port.
var Ready = regexp.MustCompile(`^reference: listening on (\S+)$`)

// Build writes the server's source into a directory under dir and builds
// it in the library's module, and returns the binary's path (in dir).
func Build(ctx context.Context, dir string) (string, error) {
	src, err := os.MkdirTemp(dir, "reference-src-")
	if err != nil {
		return "", err
	}
	entries, err := source.ReadDir(".")
	if err != nil {
		return "", err
	}
	var files []string
	for _, e := range entries {
		b, err := source.ReadFile(e.Name())
		if err != nil {
			return "", err
		}
		name := filepath.Join(src, e.Name())
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return "", err
		}
		files = append(files, name)
	}
	return librarybuild.BuildFiles(ctx, filepath.Join(dir, "reference"), files)
}
