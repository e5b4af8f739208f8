package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
)

// event is an event as a client reads it: its name ("" for none) and its
// data. The ids are not checked: the numbers in the data are.
type event struct {
	name, data string
}

// errStop, returned by a reader's callback, ends the read without an
// error.
var errStop = errors.New("stop reading")

// connect opens a stream on a fresh connection to addr: it dials, sends
// a GET of path (which holds its query) accepting Server-Sent Events if
// sse is true and NDJSON otherwise, and reads the response's head. The
// connection is closed when ctx ends (and must be closed by the caller
// otherwise); lines reads the body's lines through a buffer of bufSize.
func connect(ctx context.Context, addr, path string, sse bool, bufSize int) (conn net.Conn, lines *bufio.Reader, err error) {
	var d net.Dialer
	if conn, err = d.DialContext(ctx, "tcp", addr); err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer func() {
		if err != nil {
			stop()
			conn.Close()
		}
	}()
	accept := "application/x-ndjson"
	if sse {
		accept = "text/event-stream"
	}
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nAccept: "+accept+"\r\n\r\n"); err != nil {
		return nil, nil, err
	}
	// Two small buffers: one under the HTTP framing (status, headers,
	// chunk sizes), one for the stream's lines inside it.
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 1024), nil)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: status %s", path, resp.Status)
	}
	return conn, bufio.NewReaderSize(resp.Body, bufSize), nil
}

// read reads a stream's events, Server-Sent Events or NDJSON, and passes
// each to fn until the stream ends, fn returns an error (errStop ends
// the read with nil) or a line does not fit in lines's buffer.
func read(lines *bufio.Reader, sse bool, fn func(event) error) error {
	if sse {
		return readSSE(lines, fn)
	}
	return readNDJSON(lines, fn)
}

// readSSE reads Server-Sent Events (lines ending in LF, as the demo
// writes them), calling fn at each blank line that ends a block of
// fields: an event, or a block without a name such as the opening retry
// field or a heartbeat comment. Data fields are joined with LF.
func readSSE(lines *bufio.Reader, fn func(event) error) error {
	var (
		ev     event
		fields bool // the block has a field or a comment
		data   bool // the block has a data field
	)
	for {
		line, err := readLine(lines)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			if fields {
				if err := fn(ev); err != nil {
					return stopped(err)
				}
			}
			ev, fields, data = event{}, false, false
			continue
		}
		fields = true
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(name) {
		case "event":
			ev.name = string(value)
		case "data":
			if data {
				ev.data += "\n"
			}
			ev.data, data = ev.data+string(value), true
		}
	}
}

// readNDJSON reads the NDJSON form of a run, a line a JSON object
// {"id":…,"event":…,"data":…}, calling fn for each.
func readNDJSON(lines *bufio.Reader, fn func(event) error) error {
	for {
		line, err := readLine(lines)
		if err != nil {
			return err
		}
		var l struct{ Event, Data string }
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("NDJSON line %q: %w", line, err)
		}
		if err := fn(event{l.Event, l.Data}); err != nil {
			return stopped(err)
		}
	}
}

// readLine returns the next line without its line ending; it is valid
// until the next read.
func readLine(lines *bufio.Reader) ([]byte, error) {
	line, err := lines.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, fmt.Errorf("a line longer than %d bytes", lines.Size())
	case errors.Is(err, io.EOF):
		return nil, io.ErrUnexpectedEOF // the end event comes first
	case err != nil:
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// stopped returns the error a read ends with when its callback returned
// err.
func stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}
