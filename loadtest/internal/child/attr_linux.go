package child

import "syscall"

// Attr returns the attributes of a child process (a server, or a client
// program) that make it die with this process, so that a run killed
// midway leaves nothing behind. (The signal is tied to the
// thread that started the child; Go's runtime does not end threads that
// are not locked to a goroutine.)
func Attr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
