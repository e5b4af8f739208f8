package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/sse"
)

// ssePatience bounds every wait of the event stream tests, so that a
// broken stream fails its test instead of hanging it. It is a deadlock
// guard, not a performance claim.
const ssePatience = 20 * time.Second

// sseEvent is an event as a browser's EventSource dispatches it.
type sseEvent struct {
	Type string // "message" unless named
	Data string
	ID   string // the last event ID once the event is dispatched
}

// sseStream reads an event stream as it arrives and interprets it as
// EventSource does (fields, multi-line data, comments, retry, the last
// event ID), one event at a time. The server's lines end in LF.
type sseStream struct {
	res    *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
	lastID string
	retry  int // the last retry field, in ms; -1 if none came
}

// sseOpen requests url as EventSource does, sending lastEventID (if not
// empty) as Last-Event-ID, and checks that the answer is an event stream.
// The stream is closed when the test ends, or by close.
func sseOpen(t *testing.T, client *http.Client, url, lastEventID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ssePatience)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	s := &sseStream{res: res, r: bufio.NewReader(res.Body), cancel: cancel, lastID: lastEventID, retry: -1}
	t.Cleanup(s.close)
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %s %q", url, res.Status, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("GET %s: Content-Type %q, want text/event-stream", url, ct)
	}
	return s
}

// close ends the stream, as a browser closing the page does.
func (s *sseStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next returns the next event dispatched, or the error that ended the
// stream first (io.EOF for a clean end).
func (s *sseStream) next() (sseEvent, error) {
	var data strings.Builder
	hasData := false
	typ := ""
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return sseEvent{}, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if !hasData {
				typ = ""
				continue // dispatches nothing
			}
			if typ == "" {
				typ = "message"
			}
			return sseEvent{Type: typ, Data: data.String(), ID: s.lastID}, nil
		}
		if line[0] == ':' {
			continue // a comment
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			typ = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "id":
			s.lastID = value
		case "retry":
			if n, err := strconv.Atoi(value); err == nil {
				s.retry = n
			}
		}
	}
}

// want reads the next event, failing t if the stream ends first.
func (s *sseStream) want(t *testing.T) sseEvent {
	t.Helper()
	e, err := s.next()
	if err != nil {
		t.Fatalf("reading an event: %v", err)
	}
	return e
}

// sseWaitSubscribers polls until the hub's topic has n subscribers, so
// that an event published next reaches them live.
func sseWaitSubscribers(t *testing.T, hub *sse.MemHub, topic string, n int) {
	t.Helper()
	deadline := time.Now().Add(ssePatience)
	for hub.Subscribers(topic) != n {
		if time.Now().After(deadline) {
			t.Fatalf("topic %q has %d subscribers, want %d", topic, hub.Subscribers(topic), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ssePublish publishes an event and returns it with its id.
func ssePublish(t *testing.T, hub sse.Hub, topic string, e sse.Event) sse.Event {
	t.Helper()
	e, err := hub.Publish(t.Context(), topic, e)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sseEventsServer serves an Events handler of a new hub with topics news
// and alerts at /events, over HTTP/1.1 or HTTP/2.
func sseEventsServer(t *testing.T, http2 bool) (*sse.MemHub, *http.Client, string) {
	t.Helper()
	hub := &sse.MemHub{}
	events := handlers.Events{Hub: hub, Topics: []string{"news", "alerts"}, Retry: 1500 * time.Millisecond}
	engine := gin.New()
	engine.GET("/events", events.Handler())
	client, url := loopback.Serve(t, http2, engine, 0)
	t.Cleanup(func() { hub.Close() }) // before the server closes, which waits for its handlers

	return hub, client, url + "/events"
}

// TestEventsTopics checks the choice of the topic: ?topic= names one of
// the allowed topics, exactly, or the first is streamed when it is absent;
// anything else is answered 400 with a JSON error naming the allowed
// topics (and no range, which is for integer parameters), before any
// stream starts.
func TestEventsTopics(t *testing.T) {
	hub, client, url := sseEventsServer(t, false)
	tests := []struct {
		name  string
		query string
		topic string // the topic streamed; "" for a 400
		value string // the value the 400 names
	}{
		{name: "absent: the first topic", query: "", topic: "news"},
		{name: "first topic", query: "?topic=news", topic: "news"},
		{name: "other topic", query: "?topic=alerts", topic: "alerts"},
		{name: "escaped", query: "?topic=%61lerts", topic: "alerts"},
		{name: "first of two values", query: "?topic=alerts&topic=nope", topic: "alerts"},
		{name: "unknown topic", query: "?topic=logs", value: "logs"},
		{name: "empty topic", query: "?topic=", value: ""},
		{name: "case differs", query: "?topic=News", value: "News"},
		{name: "line break", query: "?topic=news%0Aevent:x", value: "news\nevent:x"},
		{name: "long value is shortened", query: "?topic=" + strings.Repeat("x", 100), value: strings.Repeat("x", 64) + "…"},
		{name: "malformed query string", query: "?topic=news&x=%zz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.topic == "" {
				res, err := client.Get(url + tt.query)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				raw, err := io.ReadAll(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				var body handlers.ChoiceError
				if err := json.Unmarshal(raw, &body); err != nil {
					t.Fatalf("status %d, body not JSON: %v", res.StatusCode, err)
				}
				var fields map[string]json.RawMessage
				_ = json.Unmarshal(raw, &fields)
				if keys := slices.Sorted(maps.Keys(fields)); !slices.Equal(keys, []string{"allowed", "error", "parameter", "value"}) {
					t.Errorf("body %s has the keys %q; want allowed, error, parameter and value", raw, keys)
				}
				if res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("status %d, Content-Type %q; want 400 and JSON", res.StatusCode, res.Header.Get("Content-Type"))
				}
				if body.Param != "topic" || body.Value != tt.value || strings.Join(body.Allowed, ",") != "news,alerts" || body.Msg == "" {
					t.Errorf("error = %+v, want parameter topic, value %q, allowed news and alerts, and a message", body, tt.value)
				}
				return
			}
			s := sseOpen(t, client, url+tt.query, "")
			sseWaitSubscribers(t, hub, tt.topic, 1)
			other := map[string]string{"news": "alerts", "alerts": "news"}[tt.topic]
			ssePublish(t, hub, other, sse.Event{Data: "not for this stream"})
			sent := ssePublish(t, hub, tt.topic, sse.Event{Name: "story", Data: "for " + tt.topic})
			if got, want := s.want(t), (sseEvent{Type: "story", Data: "for " + tt.topic, ID: sent.ID}); got != want {
				t.Errorf("event = %+v, want %+v", got, want)
			}
			if s.retry != 1500 {
				t.Errorf("retry = %d ms, want the Writer's 1500", s.retry)
			}
			s.close()
			sseWaitSubscribers(t, hub, tt.topic, 0)
		})
	}
}

// TestEventsResume reconnects as EventSource does, with the id of the last
// event received, in a header or (for clients that cannot set one) the
// lastEventId parameter: the events published while away arrive first, in
// order, then the live ones, with no event missed or sent twice.
func TestEventsResume(t *testing.T) {
	for _, tt := range []struct {
		name  string
		http2 bool
		query bool // send the id as ?lastEventId= rather than a header
	}{
		{"HTTP1.1, Last-Event-ID", false, false},
		{"HTTP2, Last-Event-ID", true, false},
		{"HTTP1.1, lastEventId parameter", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hub, client, url := sseEventsServer(t, tt.http2)
			s := sseOpen(t, client, url, "")
			sseWaitSubscribers(t, hub, "news", 1)
			var sent []sse.Event
			for i := range 3 {
				sent = append(sent, ssePublish(t, hub, "news", sse.Event{Data: "event " + strconv.Itoa(i)}))
			}
			for i := range 2 {
				if e := s.want(t); e.Data != sent[i].Data || e.ID != sent[i].ID {
					t.Fatalf("event %d = %+v, want %+v", i, e, sent[i])
				}
			}
			s.close() // the third was sent, maybe received, never dispatched here
			sseWaitSubscribers(t, hub, "news", 0)
			for i := 3; i < 6; i++ {
				sent = append(sent, ssePublish(t, hub, "news", sse.Event{Data: "event " + strconv.Itoa(i)}))
			}

			last := sent[1].ID
			if tt.query {
				s = sseOpen(t, client, url+"?lastEventId="+last, "")
			} else {
				s = sseOpen(t, client, url, last)
			}
			for i := 2; i < 6; i++ {
				if e := s.want(t); e.Data != sent[i].Data || e.ID != sent[i].ID {
					t.Fatalf("after resuming: event = %+v, want %+v", e, sent[i])
				}
			}
			live := ssePublish(t, hub, "news", sse.Event{Data: "live"})
			if e := s.want(t); e.Data != "live" || e.ID != live.ID {
				t.Fatalf("live event = %+v, want %+v", e, live)
			}
		})
	}
}

// TestEventsShutdown closes the hub, as the server does when it shuts
// down: every stream gets the shutdown event, with a retry field of at
// least the Writer's, and ends cleanly.
func TestEventsShutdown(t *testing.T) {
	hub, client, url := sseEventsServer(t, false)
	streams := []*sseStream{sseOpen(t, client, url, ""), sseOpen(t, client, url+"?topic=alerts", "")}
	sseWaitSubscribers(t, hub, "news", 1)
	sseWaitSubscribers(t, hub, "alerts", 1)
	hub.Close()
	for i, s := range streams {
		e := s.want(t)
		if e.Type != sse.EventShutdown || s.retry < 1500 {
			t.Errorf("stream %d: event %+v with retry %d ms, want %q with at least 1500", i, e, s.retry, sse.EventShutdown)
		}
		if e, err := s.next(); err != io.EOF {
			t.Errorf("stream %d: after the shutdown event: %+v, %v; want a clean end", i, e, err)
		}
	}
}
