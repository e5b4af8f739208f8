//go:build !linux

package main

import (
	"fmt"
	"runtime"
	"syscall"
)

// childAttr returns no attributes: outside Linux a child outlives this
// process if it is killed. (The measurements read Linux's /proc, and fail
// anyway.)
func childAttr() *syscall.SysProcAttr { return nil }

// pgAttr reports that the export's cluster runs on Linux only.
func pgAttr(*syscall.Credential) (func() *syscall.SysProcAttr, error) {
	return nil, fmt.Errorf("%w: the export's cluster runs on Linux only, not %s", errNoPostgres, runtime.GOOS)
}
