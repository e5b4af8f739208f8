package sse_test

import (
	"context"
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

// TestEvents: the adapter frames each event, and ends the producer with the
// encoder's error on one it cannot frame.
func TestEvents(t *testing.T) {
	p := sse.Events(func(_ context.Context, yield func(sse.Event) error) error {
		if err := yield(sse.Event{Data: "ok"}); err != nil {
			return err
		}
		if err := yield(sse.Event{Name: "bad\nname", Data: "x"}); err != nil {
			return err
		}
		return yield(sse.Event{Data: "never"})
	})
	var got []sse.Event
	err := p(context.Background(), func(f sse.Frame) error {
		got = append(got, f.Event())
		return nil
	})
	if !errors.Is(err, sse.ErrNameLineBreak) || len(got) != 1 || got[0].Data != "ok" {
		t.Errorf("got %+v, %v; want the first event, then ErrNameLineBreak", got, err)
	}
}
