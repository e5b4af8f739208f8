//go:build unix

package proc

import "syscall"

// RaiseFileLimit raises the soft limit on open files to the hard limit
// and returns it. (Go's os package already does so at startup on Linux;
// this makes the limit explicit, and known.)
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}
