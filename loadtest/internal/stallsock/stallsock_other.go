//go:build !linux

package stallsock

import "syscall"

// MSS is the maximum segment size a stalled client advertises where it
// can (Linux).
const MSS = 1460

// Control returns nil where the socket is not set up before it
// connects; the caller then sets the buffer of the connected socket.
func Control(readBuffer, mss int) func(network, address string, c syscall.RawConn) error {
	return nil
}
