package main

import "syscall"

// childAttr makes a server or client child die with this process, so that
// a run killed midway leaves nothing behind. (The signal is tied to the
// thread that started the child; Go's runtime does not end threads that
// are not locked to a goroutine.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
