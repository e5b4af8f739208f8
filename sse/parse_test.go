package sse_test

import (
	"strconv"
	"strings"
)

// parsed is an event as a browser's EventSource dispatches it.
type parsed struct {
	Type        string // "message" unless named
	Data        string
	LastEventID string
}

// stream is the client state of the WHATWG HTML specification's event
// stream interpretation (section 9.2.6), written from the spec's algorithm
// to check the encoder against: not shared with it.
type stream struct {
	events      []parsed
	retry       int // milliseconds; -1 until set
	lastEventID string
	data        strings.Builder
	eventType   string
}

// parse interprets body as the spec says: decode as UTF-8, strip one
// leading BOM, split into lines at CRLF, LF or CR, and process each line.
// A trailing incomplete line is discarded, as at the end of a stream.
func parse(body string) *stream {
	s := &stream{retry: -1}
	body = strings.ToValidUTF8(body, "\uFFFD")
	body = strings.TrimPrefix(body, "\uFEFF")
	for {
		i := strings.IndexAny(body, "\r\n")
		if i < 0 {
			break // incomplete last line: discarded
		}
		s.line(body[:i])
		if body[i] == '\r' && i+1 < len(body) && body[i+1] == '\n' {
			i++
		}
		body = body[i+1:]
	}
	return s
}

// line processes one line.
func (s *stream) line(line string) {
	switch {
	case line == "":
		s.dispatch()
	case line[0] == ':':
		// a comment: ignored
	default:
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		s.field(field, value)
	}
}

// field processes one field.
func (s *stream) field(name, value string) {
	switch name {
	case "event":
		s.eventType = value
	case "data":
		s.data.WriteString(value)
		s.data.WriteByte('\n')
	case "id":
		if !strings.ContainsRune(value, 0) {
			s.lastEventID = value
		}
	case "retry":
		if value != "" && strings.Trim(value, "0123456789") == "" {
			if n, err := strconv.Atoi(value); err == nil {
				s.retry = n
			}
		}
	}
}

// dispatch ends an event.
func (s *stream) dispatch() {
	data := s.data.String()
	s.data.Reset()
	eventType := s.eventType
	s.eventType = ""
	if data == "" {
		return
	}
	data = strings.TrimSuffix(data, "\n")
	if eventType == "" {
		eventType = "message"
	}
	s.events = append(s.events, parsed{Type: eventType, Data: data, LastEventID: s.lastEventID})
}
