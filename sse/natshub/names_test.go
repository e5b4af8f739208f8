package natshub

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/sse"
)

func TestTopicNames(t *testing.T) {
	// The escaping itself is internal/natsname's, tested there.
	tests := []struct {
		topic, stream, subject string
	}{
		{"ticks", "SSE_ticks", "SSE.ticks"},
		{"", "SSE__", "SSE._"},
		{"user/42 *>", "SSE_user_2F42_20_2A_3E", "SSE.user_2F42_20_2A_3E"},
	}
	for _, tt := range tests {
		n, err := topicNames("SSE", tt.topic)
		if err != nil || n.stream != tt.stream || n.subject != tt.subject {
			t.Errorf("topicNames(%q) = %+v, %v; want %s, %s", tt.topic, n, err, tt.stream, tt.subject)
		}
	}
	if _, err := topicNames("SSE", strings.Repeat("x", 252)); !errors.Is(err, ErrTopicName) {
		t.Errorf("a topic of 252 bytes: %v, want ErrTopicName", err)
	}
	if _, err := topicNames("SSE", strings.Repeat("x", 251)); err != nil {
		t.Errorf("a topic of 251 bytes: %v, want a stream name of 255", err)
	}
	for p, want := range map[string]bool{"SSE": true, "app-1": true, "": false, "a_b": false, "a.b": false, "a b": false} {
		if validPrefix(p) != want {
			t.Errorf("validPrefix(%q) = %v, want %v", p, !want, want)
		}
	}
}

// FuzzMessage checks that an event survives its trip through a message
// body, and that any body becomes a framable event.
func FuzzMessage(f *testing.F) {
	f.Add("tick", "data\nline two", int64(time.Second), "a comment")
	f.Add("", "", int64(0), "")
	f.Fuzz(func(t *testing.T, name, data string, retry int64, comment string) {
		e := sse.Event{Name: name, Data: data, Retry: time.Duration(retry), Comment: comment}
		body, err := encodeEvent(e)
		if err != nil {
			if !errors.Is(err, sse.ErrNameLineBreak) {
				t.Fatalf("encodeEvent(%+v): %v", e, err)
			}
			return
		}
		e.ID = "12"
		if got := decodeEvent(body, "12").Event(); got != e {
			t.Fatalf("decoded %+v, want %+v", got, e)
		}
		// Anything else on the subject arrives as data.
		if got := decodeEvent([]byte(data), "13").Event(); got.ID != "13" {
			t.Fatalf("a foreign body became %+v", got)
		}
	})
}
