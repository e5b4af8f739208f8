// Package stallsock sets up the client sockets of the load programs that
// are to stop reading (stalled clients), so that the server's writes to
// them block soon, as they would across a real network, rather than after
// the megabytes a loopback connection buffers.
package stallsock

import "syscall"

// MSS is the maximum segment size a stalled client advertises:
// Ethernet's, as a client across a real network would, rather than
// loopback's 65,483 bytes. Linux sizes a connection's send buffer from
// the segment size (about 2 × the congestion window × a segment), so
// that on loopback a server would buffer some 4 MB in the kernel for a
// client that stopped reading, and produce that much before its writes
// block; with this size it buffers about 200 KB, as it would in
// production.
const MSS = 1460

// Control returns a net.Dialer's Control function that sets, before the
// socket connects, its receive buffer to readBuffer bytes, so that the
// window scale the connection agrees on fits the small buffer, and its
// maximum segment size to mss (MSS as a client across Ethernet would). (Shrinking the buffer of a connected socket
// leaves the peer a window larger than the buffer: the peer then sends
// what is dropped and retransmits it with growing timeouts, and a client
// reading again receives a few KB a second.) Outside Linux it returns nil:
// the caller then sets the buffer of the connected socket.
func Control(readBuffer, mss int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, readBuffer)
			if err == nil {
				err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, mss)
			}
		}); cerr != nil {
			return cerr
		}
		return err
	}
}
