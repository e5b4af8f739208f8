//go:build !linux

package main

import "syscall"

// childAttr returns no attributes: only Linux kills a child with its
// parent; elsewhere the demo is stopped by stop, or lives on if this
// process is killed.
func childAttr() *syscall.SysProcAttr { return nil }
