package sse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one Server-Sent Event, or a comment.
type Event struct {
	// ID sets the client's last event ID, sent back as Last-Event-ID when
	// it reconnects. Empty means the event carries no id field.
	ID string
	// Name is the event type ("event:" field); empty means "message".
	Name string
	// Data is the payload. Line breaks in it (CR, LF or CRLF) are kept:
	// the client receives them as LF.
	Data string
	// Retry, if positive, tells the client how long to wait before
	// reconnecting; it is sent in whole milliseconds.
	Retry time.Duration
	// Comment, if not empty, is sent as comment lines (starting with ':'),
	// which clients ignore: a heartbeat keeps a connection open with an
	// Event that has only a Comment.
	Comment string
}

// Errors for events that cannot be framed.
var (
	// ErrIDLineBreak reports an id with CR, LF or NUL.
	ErrIDLineBreak = errors.New("sse: event id contains CR, LF or NUL")
	// ErrNameLineBreak reports an event name with CR or LF.
	ErrNameLineBreak = errors.New("sse: event name contains CR or LF")
)

// EventEncoder encodes [Event] values as text/event-stream. It keeps no state
// and is safe for concurrent use.
type EventEncoder struct{}

// ContentType returns "text/event-stream".
func (EventEncoder) ContentType() string { return "text/event-stream" }

// Append appends the event's fields and the blank line that ends it. An
// event with only a Comment is written as comment lines, without the blank
// line (it dispatches nothing). On error dst is returned unchanged.
func (EventEncoder) Append(dst []byte, e Event) ([]byte, error) {
	if strings.ContainsAny(e.ID, "\r\n\x00") {
		return dst, fmt.Errorf("%w: %q", ErrIDLineBreak, e.ID)
	}
	if strings.ContainsAny(e.Name, "\r\n") {
		return dst, fmt.Errorf("%w: %q", ErrNameLineBreak, e.Name)
	}
	if e.Comment != "" {
		dst = appendLines(dst, ":", e.Comment)
		if e == (Event{Comment: e.Comment}) {
			return dst, nil
		}
	}
	if e.ID != "" {
		dst = appendField(dst, "id: ", e.ID)
	}
	if e.Name != "" {
		dst = appendField(dst, "event: ", e.Name)
	}
	if e.Retry > 0 {
		dst = append(dst, "retry: "...)
		dst = strconv.AppendInt(dst, max(e.Retry.Milliseconds(), 1), 10)
		dst = append(dst, '\n')
	}
	dst = appendLines(dst, "data: ", e.Data)
	return append(dst, '\n'), nil
}

// appendField appends one "name: value" line; value has no line break.
func appendField(dst []byte, prefix, value string) []byte {
	dst = append(dst, prefix...)
	dst = append(dst, value...)
	return append(dst, '\n')
}

// appendLines appends one line with the given prefix for every line of s,
// split at CRLF, CR or LF (the spec's line endings), so that s's line
// breaks can never end the field early.
func appendLines(dst []byte, prefix, s string) []byte {
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return appendField(dst, prefix, s)
		}
		dst = appendField(dst, prefix, s[:i])
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}
