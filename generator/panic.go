package generator

import (
	"fmt"
	"runtime/debug"
)

// PanicError reports a panic in a producer. The stream recovers the panic on
// the producer's goroutine and delivers this error to the consumer, so that
// the panic is handled where the stream is owned instead of crashing the
// process.
type PanicError struct {
	// Value is the value the producer passed to panic.
	Value any
	// Stack is the producer goroutine's stack trace at the panic.
	Stack []byte
}

// Error returns a message naming the panic value. The stack is not part of
// the message; log [PanicError.Stack] where it is wanted.
func (e *PanicError) Error() string {
	return fmt.Sprintf("generator: producer panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see through the panic.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// recoverPanic turns a panic in the calling goroutine into a *PanicError
// stored in *err. It must be called directly by a deferred statement.
func recoverPanic(err *error) {
	if v := recover(); v != nil {
		*err = &PanicError{Value: v, Stack: debug.Stack()}
	}
}
