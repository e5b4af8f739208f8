package main

import "syscall"

// childAttr makes the demo child die with this process, so that a load
// run killed midway leaves no server behind. (The signal is tied to the
// thread that started the child; Go's runtime does not end threads that
// are not locked to a goroutine.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
