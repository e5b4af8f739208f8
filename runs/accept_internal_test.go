package runs

import "testing"

// TestAcceptsEvents: a client gets an event stream when its Accept header
// ranks text/event-stream above NDJSON, as EventSource's does, and NDJSON
// otherwise, as for curl's "*/*".
func TestAcceptsEvents(t *testing.T) {
	for _, tt := range []struct {
		accept string
		want   bool
	}{
		{"text/event-stream", true},            // EventSource
		{"*/*", false},                         // curl, fetch
		{"", false},                            // none
		{"application/x-ndjson", false},        // asks for NDJSON
		{"text/event-stream;q=0", false},       // refuses it
		{"text/event-stream;q=high", false},    // malformed: absent
		{"text/event-stream, */*;q=0.1", true}, // prefers it
		{"application/x-ndjson, text/event-stream;q=0.5", false},
		{"TEXT/Event-Stream", true}, // case-insensitive
	} {
		if got := acceptsEvents(tt.accept); got != tt.want {
			t.Errorf("acceptsEvents(%q) = %v, want %v", tt.accept, got, tt.want)
		}
	}
}
