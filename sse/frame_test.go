package sse_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ginstream/ginstream/sse"
)

// TestFrameEncoding: a frame is the event's encoding, made once, which
// FrameEncoder appends as it is.
func TestFrameEncoding(t *testing.T) {
	tests := []struct {
		name  string
		event sse.Event
	}{
		{"data", sse.Event{Data: "hello"}},
		{"all fields", sse.Event{ID: "7", Name: "log", Data: "a\r\nb", Retry: time.Second, Comment: "c"}},
		{"comment only", sse.Event{Comment: "heartbeat"}},
		{"empty", sse.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := sse.NewFrame(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if f.Event() != tt.event {
				t.Errorf("Event() = %+v, want %+v", f.Event(), tt.event)
			}
			want := encode(t, tt.event)
			got, err := sse.FrameEncoder{}.Append([]byte("kept|"), f)
			if err != nil || string(got) != "kept|"+want {
				t.Errorf("Append = %q, %v; want %q", got, err, "kept|"+want)
			}
		})
	}
	if got := (sse.FrameEncoder{}).ContentType(); got != "text/event-stream" {
		t.Errorf("ContentType() = %q", got)
	}
}

func TestFrameZero(t *testing.T) {
	var f sse.Frame
	got, err := sse.FrameEncoder{}.Append(nil, f)
	if f.Event() != (sse.Event{}) || err != nil || string(got) != encode(t, sse.Event{}) {
		t.Errorf("zero Frame: event %+v, encoding %q, %v; want those of the zero Event", f.Event(), got, err)
	}
}

func TestNewFrameRejectsUnframeable(t *testing.T) {
	for _, tt := range []struct {
		name  string
		event sse.Event
		want  error
	}{
		{"id with LF", sse.Event{ID: "1\n2"}, sse.ErrIDLineBreak},
		{"name with CR", sse.Event{Name: "a\rb"}, sse.ErrNameLineBreak},
	} {
		if _, err := sse.NewFrame(tt.event); !errors.Is(err, tt.want) {
			t.Errorf("%s: NewFrame: %v, want %v", tt.name, err, tt.want)
		}
	}
}
