package main

import "syscall"

// childAttr makes a server or client child die with this process, so that
// a run killed midway leaves nothing behind. (The signal is tied to the
// thread that started the child; Go's runtime does not end threads that
// are not locked to a goroutine.)
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// pgAttr returns a function giving the process attributes of initdb and
// postgres: run as cred (nil for the current user), and shut down at once
// (SIGQUIT, PostgreSQL's immediate shutdown) if this process dies.
func pgAttr(cred *syscall.Credential) (func() *syscall.SysProcAttr, error) {
	return func() *syscall.SysProcAttr {
		return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	}, nil
}
