// Package ownstack runs a function on a goroutine of its own, for the
// deep calls of a goroutine that then waits long, shallow: a goroutine's
// stack grows to what its deepest call needs and is never shrunk back
// while it waits deeper than about 1.2 KB, so a handler that makes a deep
// call (net/http writing the headers, under a frame of 2.8 KB) and then
// waits keeps the larger stack for as long as it waits. On a goroutine of
// its own the call takes a stack only while it runs.
package ownstack

// Run runs f on a goroutine of its own and waits for it to return; a
// panic in f is raised again on the caller's goroutine.
func Run(f func()) {
	var p any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { p = recover() }()
		f()
	}()
	<-done
	if p != nil {
		panic(p)
	}
}
