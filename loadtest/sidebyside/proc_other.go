//go:build !linux

package main

import (
	"syscall"
)

// childAttr returns no attributes: outside Linux a child outlives this
// process if it is killed. (The measurements read Linux's /proc, and fail
// anyway.)
func childAttr() *syscall.SysProcAttr { return nil }
