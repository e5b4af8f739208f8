package sse_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/sse"
)

func encode(t testing.TB, events ...sse.Event) string {
	t.Helper()
	var out []byte
	for _, e := range events {
		var err error
		if out, err = (sse.EventEncoder{}).Append(out, e); err != nil {
			t.Fatalf("Append(%+v): %v", e, err)
		}
	}
	return string(out)
}

func TestEncoderWireFormat(t *testing.T) {
	tests := []struct {
		name  string
		event sse.Event
		want  string
	}{
		{"data only", sse.Event{Data: "hello"}, "data: hello\n\n"},
		{"empty data", sse.Event{}, "data: \n\n"},
		{"all fields", sse.Event{ID: "42", Name: "tick", Data: "x", Retry: 1500 * time.Millisecond},
			"id: 42\nevent: tick\nretry: 1500\ndata: x\n\n"},
		{"LF in data", sse.Event{Data: "a\nb"}, "data: a\ndata: b\n\n"},
		{"CRLF in data", sse.Event{Data: "a\r\nb"}, "data: a\ndata: b\n\n"},
		{"CR in data", sse.Event{Data: "a\rb"}, "data: a\ndata: b\n\n"},
		{"trailing LF in data", sse.Event{Data: "a\n"}, "data: a\ndata: \n\n"},
		{"forged event in data", sse.Event{Data: "x\n\nevent: evil\ndata: y"},
			"data: x\ndata: \ndata: event: evil\ndata: data: y\n\n"},
		{"leading space kept", sse.Event{Data: " x"}, "data:  x\n\n"},
		{"sub-millisecond retry rounds up", sse.Event{Data: "x", Retry: time.Microsecond}, "retry: 1\ndata: x\n\n"},
		{"comment only (heartbeat)", sse.Event{Comment: "keep-alive"}, ":keep-alive\n"},
		{"multi-line comment", sse.Event{Comment: "a\r\nb"}, ":a\n:b\n"},
		{"comment with event", sse.Event{Comment: "c", Data: "d"}, ":c\ndata: d\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := encode(t, tt.event); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEncoderRejectsUnframeableFields(t *testing.T) {
	tests := []struct {
		name  string
		event sse.Event
		want  error
	}{
		{"id with LF", sse.Event{ID: "1\n2", Data: "x"}, sse.ErrIDLineBreak},
		{"id with CR", sse.Event{ID: "1\r", Data: "x"}, sse.ErrIDLineBreak},
		{"id with NUL", sse.Event{ID: "1\x002", Data: "x"}, sse.ErrIDLineBreak},
		{"name with LF", sse.Event{Name: "a\nb", Data: "x"}, sse.ErrNameLineBreak},
		{"name with CR", sse.Event{Name: "a\r", Data: "x"}, sse.ErrNameLineBreak},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("kept")
			got, err := (sse.EventEncoder{}).Append(dst, tt.event)
			if !errors.Is(err, tt.want) || string(got) != "kept" {
				t.Errorf("Append = %q, %v; want dst unchanged and %v", got, err, tt.want)
			}
		})
	}
}

func TestEncoderContentType(t *testing.T) {
	if got := (sse.EventEncoder{}).ContentType(); got != "text/event-stream" {
		t.Errorf("ContentType() = %q", got)
	}
}

// normalize is what a client receives for data: line breaks as LF.
func normalize(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// FuzzEncoderRoundTrip: for any events, a parser following the spec reads
// back exactly the events sent, in order, with their ids, names and data —
// no payload can forge or split an event — and the last retry sent.
func FuzzEncoderRoundTrip(f *testing.F) {
	f.Add("1", "tick", "hello", "", "2", "", "a\r\nb\rc\n", "ping", uint16(0))
	f.Add("", "", "", "x", "", "evil\nevent: x", "\n\ndata: forged\n\n", "", uint16(3000))
	f.Add("\ufeff", ":", ": not a comment", "\x00", "id", "retry", "\uFEFFdata", "a\rb", uint16(1))
	f.Fuzz(func(t *testing.T, id1, name1, data1, comment1, id2, name2, data2, comment2 string, retry uint16) {
		events := []sse.Event{
			{ID: id1, Name: name1, Data: data1, Comment: comment1, Retry: time.Duration(retry) * time.Millisecond},
			{ID: id2, Name: name2, Data: data2, Comment: comment2},
			{Comment: comment1 + comment2}, // a heartbeat between events
			{Data: data2 + data1},
		}
		var out []byte
		var want []parsed
		lastID := ""
		wantRetry := -1
		for _, e := range events {
			var err error
			out, err = (sse.EventEncoder{}).Append(out, e)
			badID := strings.ContainsAny(e.ID, "\r\n\x00")
			badName := strings.ContainsAny(e.Name, "\r\n")
			if badID || badName {
				if err == nil {
					t.Fatalf("Append(%+v) accepted an unframeable field", e)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Append(%+v): %v", e, err)
			}
			if e == (sse.Event{Comment: e.Comment}) && e.Comment != "" {
				continue // a comment dispatches nothing
			}
			if e.ID != "" {
				lastID = e.ID
			}
			if e.Retry > 0 {
				wantRetry = int(e.Retry.Milliseconds())
			}
			typ := e.Name
			if typ == "" {
				typ = "message"
			}
			want = append(want, parsed{Type: typ, Data: normalize(e.Data), LastEventID: lastID})
		}
		// The parser sees UTF-8 text, as a browser decodes it.
		for i := range want {
			want[i].Data = strings.ToValidUTF8(want[i].Data, "\uFFFD")
			want[i].Type = strings.ToValidUTF8(want[i].Type, "\uFFFD")
			want[i].LastEventID = strings.ToValidUTF8(want[i].LastEventID, "\uFFFD")
		}
		got := parse(string(out))
		if !slices.Equal(got.events, want) {
			t.Fatalf("stream %q\nparses as %q\nwant      %q", out, got.events, want)
		}
		if got.retry != wantRetry {
			t.Fatalf("retry %d, want %d", got.retry, wantRetry)
		}
	})
}
