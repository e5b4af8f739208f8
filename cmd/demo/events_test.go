package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/sse"
)

// eventPatience bounds how long a test waits for an event stream, so that
// a broken one fails the test rather than hanging it.
const eventPatience = 30 * time.Second

// event is an event as a browser's EventSource dispatches it.
type event struct {
	Type string // "message" unless named
	Data string
	ID   string // the last event ID once the event is dispatched
}

// eventStream reads an event stream as it arrives and interprets it as
// EventSource does, one event at a time. The demo's lines end in LF.
type eventStream struct {
	res    *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
	lastID string
	retry  int // the last retry field, in ms; -1 if none came
}

// openEvents requests path of the demo as EventSource does, with
// lastEventID (if not empty) as Last-Event-ID, and checks that the answer
// is an event stream. The stream is closed when the test ends, or by
// close.
func openEvents(t *testing.T, d *demo, path, lastEventID string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventPatience)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url+path, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := d.client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	s := &eventStream{res: res, r: bufio.NewReader(res.Body), cancel: cancel, lastID: lastEventID, retry: -1}
	t.Cleanup(s.close)
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %s %q", path, res.Status, body)
	}
	for h, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("GET %s: %s: %q, want %q", path, h, got, want)
		}
	}
	return s
}

// close ends the stream, as a browser leaving the page does.
func (s *eventStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next returns the next event dispatched, or the error that ended the
// stream first (io.EOF for a clean end).
func (s *eventStream) next() (event, error) {
	var data []string
	typ := ""
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return event{}, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch field, value, _ := strings.Cut(line, ":"); {
		case line == "" && data == nil:
			typ = "" // dispatches nothing
		case line == "":
			if typ == "" {
				typ = "message"
			}
			return event{Type: typ, Data: strings.Join(data, "\n"), ID: s.lastID}, nil
		case field == "": // a comment
		case field == "event":
			typ = strings.TrimPrefix(value, " ")
		case field == "data":
			data = append(data, strings.TrimPrefix(value, " "))
		case field == "id":
			s.lastID = strings.TrimPrefix(value, " ")
		case field == "retry":
			if n, err := strconv.Atoi(strings.TrimPrefix(value, " ")); err == nil {
				s.retry = n
			}
		}
	}
}

// want reads the next event, failing t if the stream ends first.
func (s *eventStream) want(t *testing.T) event {
	t.Helper()
	e, err := s.next()
	if err != nil {
		t.Fatalf("reading an event: %v", err)
	}
	return e
}

// take reads n events of the type typ, skipping events of other types.
func (s *eventStream) take(t *testing.T, typ string, n int) []event {
	t.Helper()
	var got []event
	for len(got) < n {
		if e := s.want(t); e.Type == typ {
			got = append(got, e)
		}
	}
	return got
}

// idOf parses an event id, which the demo's hub makes decimal.
func idOf(t *testing.T, e event) uint64 {
	t.Helper()
	id, err := strconv.ParseUint(e.ID, 10, 64)
	if err != nil {
		t.Fatalf("event %+v: id is not a decimal number", e)
	}
	return id
}

// checkConsecutive checks that events have the ids after after (if not
// zero), one by one: a topic of the demo's hub numbers its events so.
func checkConsecutive(t *testing.T, after uint64, events []event) {
	t.Helper()
	for i, e := range events {
		id := idOf(t, e)
		if after != 0 && id != after+1 {
			t.Fatalf("event %d has id %d after %d: events missed or repeated; events %+v", i, id, after, events)
		}
		after = id
	}
}

// tick is the data of a tick event.
type tick struct {
	N    int    `json:"n"`
	Time string `json:"time"`
}

func parseTick(t *testing.T, e event) tick {
	t.Helper()
	var v tick
	if err := json.Unmarshal([]byte(e.Data), &v); err != nil || v.N <= 0 || v.Time == "" {
		t.Fatalf("tick %q: %+v, %v", e.Data, v, err)
	}
	return v
}

// TestDemoEvents checks /events: the ticks topic by default, the orders
// topic (with an event whose data has two lines), ids that count up one
// by one, the retry time, and 400 for a topic that does not exist.
func TestDemoEvents(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10", "-event-interval", "10ms")
	t.Run("ticks by default", func(t *testing.T) {
		s := openEvents(t, d, "/events", "")
		ticks := s.take(t, eventTick, 5)
		checkConsecutive(t, 0, ticks)
		for i, e := range ticks[1:] {
			if n, prev := parseTick(t, e).N, parseTick(t, ticks[i]).N; n != prev+1 {
				t.Errorf("tick %d after tick %d", n, prev)
			}
		}
		if s.retry != int(eventRetry.Milliseconds()) {
			t.Errorf("retry = %d ms, want %d", s.retry, eventRetry.Milliseconds())
		}
	})
	t.Run("orders", func(t *testing.T) {
		s := openEvents(t, d, "/events?topic=orders", "")
		var got []event
		for !slices.ContainsFunc(got, func(e event) bool { return e.Type == eventShipped }) {
			got = append(got, s.want(t))
		}
		checkConsecutive(t, 0, got)
		for _, e := range got {
			switch e.Type {
			case eventOrder:
				var o struct {
					Order int    `json:"order"`
					User  string `json:"user"`
					Items int    `json:"items"`
					Total string `json:"total"`
				}
				if err := json.Unmarshal([]byte(e.Data), &o); err != nil || o.Order <= 0 || o.User == "" || o.Items <= 0 || o.Total == "" {
					t.Errorf("order %q: %+v, %v", e.Data, o, err)
				}
			case eventShipped:
				if lines := strings.Split(e.Data, "\n"); len(lines) != 2 || !strings.HasSuffix(lines[0], " shipped") || !strings.HasPrefix(lines[1], "to ") {
					t.Errorf("shipping note %q, want two lines", e.Data)
				}
			default:
				t.Errorf("event %+v on topic orders", e)
			}
		}
	})
	for _, query := range []string{"?topic=logs", "?topic=", "?topic=Ticks", "?topic=%zz"} {
		t.Run(query, func(t *testing.T) {
			res, body := d.get(t, "/events"+query)
			if res.StatusCode != http.StatusBadRequest || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("status %d, Content-Type %q; want 400 with JSON", res.StatusCode, res.Header.Get("Content-Type"))
			}
			var e struct {
				Param   string   `json:"parameter"`
				Allowed []string `json:"allowed"`
				Error   string   `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Param != "topic" || !slices.Equal(e.Allowed, eventTopics) || e.Error == "" {
				t.Errorf("body %s (%v), want the parameter, the allowed topics and a message", body, err)
			}
		})
	}
}

// TestDemoEventsResume leaves /events and comes back with the id of the
// last event received, as EventSource does: the ticks published meanwhile
// arrive first, then the live ones, none missed and none twice.
func TestDemoEventsResume(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10", "-event-interval", "10ms")
	s := openEvents(t, d, "/events", "")
	before := s.take(t, eventTick, 3)
	s.close()
	last := before[len(before)-1]
	time.Sleep(100 * time.Millisecond) // away long enough to miss ticks; not an assertion

	s = openEvents(t, d, "/events", last.ID)
	after := s.take(t, eventTick, 20)
	checkConsecutive(t, idOf(t, last), after)
	for i, e := range after {
		if n, want := parseTick(t, e).N, parseTick(t, last).N+i+1; n != want {
			t.Fatalf("after resuming, tick %d where %d was due", n, want)
		}
	}
	// The same through the lastEventId parameter, for clients that
	// cannot set headers.
	s.close()
	s = openEvents(t, d, "/events?lastEventId="+last.ID, "")
	checkConsecutive(t, idOf(t, last), s.take(t, eventTick, 3))
}

// TestDemoLogEvents follows the demo log as an event stream: each event is
// a line of the log, starting with the last ?lines= lines; a client that
// reconnects with the id of the last line it received gets the lines
// written while it was away, none twice. Without text/event-stream in
// Accept, the same URL streams text, and both answers vary by Accept.
func TestDemoLogEvents(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10")
	s := openEvents(t, d, "/stream/logs?lines=3", "")
	first := s.take(t, "message", 3+10)
	checkConsecutive(t, 0, first)
	s.close()
	time.Sleep(100 * time.Millisecond) // away long enough to miss lines; not an assertion

	s = openEvents(t, d, "/stream/logs?lines=3", first[len(first)-1].ID)
	rest := s.take(t, "message", 20)
	checkConsecutive(t, idOf(t, first[len(first)-1]), rest)
	s.close()

	var lines []string
	for _, e := range append(first, rest...) {
		lines = append(lines, e.Data)
	}
	file := readLines(t, filepath.Join(d.dataDir, logFile))
	start := slices.Index(file, lines[0])
	if start < 0 || start+len(lines) > len(file) || !slices.Equal(file[start:start+len(lines)], lines) {
		t.Fatalf("the events are not consecutive lines of the log:\n%s", strings.Join(lines, "\n"))
	}

	res, err := d.client.Get(d.url + "/stream/logs?lines=1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("without Accept: Content-Type %q, want text/plain", ct)
	}
	for _, r := range []*http.Response{res, s.res} {
		if !slices.Contains(r.Header.Values("Vary"), "Accept") {
			t.Errorf("%s: Vary = %q, want Accept among them", r.Header.Get("Content-Type"), r.Header.Values("Vary"))
		}
	}
}

// TestDemoEventsShutdown shuts the demo down while event streams are open:
// each ends cleanly with a shutdown event whose retry field tells the
// browser to come back after at least the usual retry time, and run
// returns at once although the shutdown timeout is an hour.
func TestDemoEventsShutdown(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10", "-event-interval", "10ms", "-shutdown-timeout", "1h")
	streams := []*eventStream{
		openEvents(t, d, "/events", ""),
		openEvents(t, d, "/events?topic=orders", ""),
		openEvents(t, d, "/stream/logs", ""),
	}
	for _, s := range streams {
		s.want(t) // streaming
	}
	stopped := make(chan error, 1)
	go func() { stopped <- d.stop() }()
	for i, s := range streams {
		var e event
		var err error
		for err == nil && e.Type != sse.EventShutdown {
			e, err = s.next()
		}
		if err != nil {
			t.Errorf("stream %d ended with %v before a shutdown event", i, err)
			continue
		}
		if s.retry < int(eventRetry.Milliseconds()) || s.retry > int(eventRetry.Milliseconds())*3/2 {
			t.Errorf("stream %d: retry %d ms, want %v to 1.5 times that", i, s.retry, eventRetry)
		}
		if e, err := s.next(); err != io.EOF {
			t.Errorf("stream %d: after the shutdown event: %+v, %v; want a clean end", i, e, err)
		}
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(eventPatience):
		t.Fatalf("run has not returned %v after the shutdown began; output:\n%s", eventPatience, d.out)
	}
	if out := d.out.String(); strings.Contains(out, "still open") {
		t.Errorf("the shutdown waited for streams:\n%s", out)
	}
}

// TestDemoEventsRestart restarts the demo on the same port and data
// directory, as a deployment does, and comes back with the id of the last
// tick: the new demo's hub does not know it (its events lived in the old
// one's memory), so the client gets a reset event, whose id the next
// events follow.
func TestDemoEventsRestart(t *testing.T) {
	dir := t.TempDir()
	d := startDemo(t, dir, nil, "-users", "10", "-event-interval", "10ms")
	s := openEvents(t, d, "/events", "")
	last := s.take(t, eventTick, 3)[2]
	s.close()
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	d = startDemo(t, dir, nil, "-users", "10", "-event-interval", "10ms", "-addr", hostPort(t, d.url))
	s = openEvents(t, d, "/events", last.ID)
	reset := s.want(t)
	if reset.Type != sse.EventReset || reset.Data != "too-old" || idOf(t, reset) <= idOf(t, last) {
		t.Fatalf("first event after the restart %+v, want a %q event with a later id than %s", reset, sse.EventReset, last.ID)
	}
	checkConsecutive(t, idOf(t, reset), s.take(t, eventTick, 5))
}

// hostPort returns the host:port of a URL.
func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestDemoEventsPublished checks the demo's events themselves: a tick on
// topic ticks every time, an order on topic orders every third, and a
// two-line shipping note every fourth order.
func TestDemoEventsPublished(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	count := map[string]int{}
	for n := 1; n <= 24; n++ {
		events := demoEvents(n, at)
		if events[0].topic != "ticks" || events[0].event.Name != eventTick || events[0].event.Data != `{"n":`+strconv.Itoa(n)+`,"time":"2025-03-04T05:06:07.008Z"}` {
			t.Errorf("tick %d: %+v", n, events[0])
		}
		for _, e := range events {
			count[e.topic+" "+e.event.Name]++
			if _, err := sse.NewFrame(e.event); err != nil || !slices.Contains(eventTopics, e.topic) {
				t.Errorf("event %+v: %v", e, err)
			}
		}
	}
	want := map[string]int{"ticks tick": 24, "orders order": 8, "orders shipped": 2}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s events in 24 ticks, want %d", count[k], k, n)
		}
	}
}
