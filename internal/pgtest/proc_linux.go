package pgtest

import "syscall"

// sysProcAttr returns a function giving the process attributes of initdb and
// postgres: run as cred (nil for the current user), and shut down when the
// test binary dies without stopping them. The parent-death signal follows
// the thread that started the process; Go keeps its threads alive unless a
// goroutine exits while locked to one, which Start's callers do not do.
func sysProcAttr(cred *syscall.Credential) (func() *syscall.SysProcAttr, error) {
	return func() *syscall.SysProcAttr {
		// SIGQUIT is PostgreSQL's immediate shutdown: nothing is worth keeping.
		return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	}, nil
}
