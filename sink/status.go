package sink

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net/http"
)

// Sentinel errors a producer can return (or wrap) to choose the status of a
// stream that fails before its first byte.
var (
	// ErrNotFound answers 404 Not Found.
	ErrNotFound = errors.New("not found")
	// ErrBadRequest answers 400 Bad Request.
	ErrBadRequest = errors.New("bad request")
)

// StatusError is an error that carries the HTTP status to answer with when a
// stream fails before its first byte.
type StatusError struct {
	Code int   // an HTTP status code, 400 to 599
	Err  error // what went wrong
}

// WithStatus returns err annotated with an HTTP status code, for a producer
// to return. It returns nil if err is nil.
func WithStatus(code int, err error) error {
	if err == nil {
		return nil
	}
	return &StatusError{Code: code, Err: err}
}

// Error returns the message of the wrapped error, or the status text if
// there is none.
func (e *StatusError) Error() string {
	if e.Err == nil {
		return http.StatusText(e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *StatusError) Unwrap() error { return e.Err }

// StatusOf returns the HTTP status for a stream that failed with err before
// its first byte: the code of the first [*StatusError] in err's chain with
// a code from 400 to 599; 404 for
// [ErrNotFound], fs.ErrNotExist and sql.ErrNoRows; 400 for [ErrBadRequest];
// 504 for context.DeadlineExceeded; 500 otherwise.
func StatusOf(err error) int {
	for e := err; ; {
		var se *StatusError
		if !errors.As(e, &se) {
			break
		}
		if se.Code >= 400 && se.Code <= 599 {
			return se.Code
		}
		e = se.Err // an invalid code: look further in
	}
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, fs.ErrNotExist), errors.Is(err, sql.ErrNoRows):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}
