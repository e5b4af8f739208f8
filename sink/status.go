package sink

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
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
// 503 for [ErrMaxDuration]; 504 for context.DeadlineExceeded; 500
// otherwise.
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
	case errors.Is(err, ErrMaxDuration):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// RequestIDHeader is the header whose value, set on the response by a
// request-id middleware or else sent by the client (or a proxy in front),
// identifies a request in the log and in the body of a server error.
const RequestIDHeader = "X-Request-Id"

// requestID returns the request's id: the response's X-Request-Id header,
// else the request's, shortened to a safe token; "" if there is none.
func requestID(c *gin.Context) string {
	id := c.Writer.Header().Get(RequestIDHeader)
	if id == "" {
		id = c.Request.Header.Get(RequestIDHeader)
	}
	if len(id) > 128 {
		id = id[:128]
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; b <= ' ' || b >= 0x7f {
			return "" // not a token: never echo it
		}
	}
	return id
}

// answerError answers a request whose stream failed with err before its
// first byte, and returns the status sent; see [Writer.Fail].
func answerError(c *gin.Context, err error) int {
	code := StatusOf(err)
	h := c.Writer.Header()
	dropBodyHeaders(h)
	h.Del("Content-Type")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Data(code, "text/plain; charset=utf-8", []byte(strconv.Itoa(code)+" "+publicMessage(c, code, err)+"\n"))
	return code
}

// publicMessage is what a client may be told of err, answered with code:
// the status text and, for a client error (4xx), the error's message on
// one line; for a server error (5xx), the request's id if it has one
// instead, since an internal error's text may name hosts, queries or
// credentials.
func publicMessage(c *gin.Context, code int, err error) string {
	text := http.StatusText(code)
	if code >= 500 {
		if id := requestID(c); id != "" {
			return text + " (request " + id + ")"
		}
		return text
	}
	msg := []byte(err.Error())
	for i, b := range msg {
		if b < ' ' || b == 0x7f {
			msg[i] = ' ' // keep it one line
		}
	}
	return text + ": " + string(msg)
}

// dropBodyHeaders removes the headers a handler set for a successful body,
// before an error or a rejection is answered in its place: a browser would
// otherwise save a 503's message as the export's file.
func dropBodyHeaders(h http.Header) {
	for _, k := range []string{"Content-Disposition", "Content-Encoding", "Content-Length", "Content-Range", "Accept-Ranges", "Etag", "Last-Modified"} {
		h.Del(k)
	}
}
