//go:build !linux

package main

import "syscall"

// setReadBuffer returns nil where the socket is not set up before it
// connects; dialHTTP then sets the buffer of the connected socket.
func setReadBuffer(int) func(network, address string, c syscall.RawConn) error { return nil }
