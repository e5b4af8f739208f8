package sse_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// TestWriterOwnEnd: a producer that yields an EventEnd of its own, with
// data that says how its job ended, has told the client; the stream ends
// after it without the EventWriter's "completed" one.
func TestWriterOwnEnd(t *testing.T) {
	tests := []struct {
		name   string
		events []sse.Event
		want   string
	}{
		{"no end of its own", []sse.Event{{Data: "e1"}},
			"retry: 3000\n\ndata: e1\n\nevent: end\ndata: completed\n\n"},
		{"an end of its own", []sse.Event{{Data: "e1"}, {ID: "7", Name: sse.EventEnd, Data: `{"state":"failed"}`}},
			"retry: 3000\n\ndata: e1\n\nid: 7\nevent: end\ndata: {\"state\":\"failed\"}\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := func(_ context.Context, yield func(sse.Event) error) error {
				for _, e := range tt.events {
					if err := yield(e); err != nil {
						return err
					}
				}
				return nil
			}
			rec := httptest.NewRecorder()
			w := &sse.EventWriter{Heartbeat: -1}
			if r := streamRecorded(t.Context(), w, rec, events)(); r.Outcome != sink.Completed {
				t.Errorf("outcome %v (%v), want completed", r.Outcome, r.Err)
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("body %q\nwant %q", got, tt.want)
			}
		})
	}
}
