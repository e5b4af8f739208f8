//go:build !linux

package pgtest

import (
	"fmt"
	"runtime"
	"syscall"
)

// sysProcAttr reports that this package runs PostgreSQL on Linux only.
func sysProcAttr(*syscall.Credential) (func() *syscall.SysProcAttr, error) {
	return nil, fmt.Errorf("%w: pgtest supports Linux only, not %s", ErrUnavailable, runtime.GOOS)
}
