package sse_test

import (
	"fmt"
	"time"

	"github.com/ginstream/ginstream/sse"
)

// A payload with line breaks becomes several data lines; a browser's
// EventSource receives it whole, with LF line breaks.
func ExampleEncoder() {
	var enc sse.EventEncoder
	out, _ := enc.Append(nil, sse.Event{ID: "7", Name: "log", Data: "line one\r\nline two", Retry: 3 * time.Second})
	out, _ = enc.Append(out, sse.Event{Comment: "heartbeat"})
	fmt.Print(string(out))
	_, err := enc.Append(nil, sse.Event{ID: "8\nevent: forged", Data: "x"})
	fmt.Println(err)
	// Output:
	// id: 7
	// event: log
	// retry: 3000
	// data: line one
	// data: line two
	//
	// :heartbeat
	// sse: event id contains CR, LF or NUL: "8\nevent: forged"
}
