package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/sse"
)

// sseLog is a log file followed by a running LogEvents, served at /logs.
type sseLog struct {
	path   string
	hub    *sse.MemHub
	client *http.Client
	url    string
	runErr chan error // what Run returned
}

// sseStartLog creates a log file, starts a LogEvents on it with a new hub
// and serves it; Run is joined when the test ends. It returns once Run
// publishes what is appended: it appends "ready" lines until one is
// published.
func sseStartLog(t *testing.T, logs *handlers.LogEvents) *sseLog {
	t.Helper()
	l := &sseLog{path: filepath.Join(t.TempDir(), "app.log"), hub: &sse.MemHub{}, runErr: make(chan error, 1)}
	if err := os.WriteFile(l.path, []byte("before 1\nbefore 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs.Path, logs.Hub, logs.PollInterval = l.path, l.hub, 5*time.Millisecond
	engine := gin.New()
	engine.GET("/logs", logs.Handler())
	l.client, l.url = loopback.Serve(t, false, engine, 0)
	l.url += "/logs"

	ctx, cancel := context.WithCancel(context.Background())
	go func() { l.runErr <- logs.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		l.hub.Close() // ends the streams, before the server closes
		<-l.runErr
	})

	// A subscription of the test's own sees when Run publishes.
	published := make(chan struct{})
	subCtx, stop := context.WithCancel(context.Background())
	subDone := make(chan error, 1)
	go func() {
		subDone <- l.hub.Subscribe(subCtx, "logs", "", func(sse.Frame) error {
			close(published)
			return errors.New("seen one")
		})
	}()
	sseWaitSubscribers(t, l.hub, "logs", 1)
	defer func() { stop(); <-subDone }()
	deadline := time.Now().Add(ssePatience)
	for i := 1; ; i++ {
		l.append(t, fmt.Sprintf("ready %d", i))
		select {
		case <-published:
			return l
		case err := <-l.runErr:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("Run publishes none of the lines appended")
		}
	}
}

// append appends lines to the log.
func (l *sseLog) append(t *testing.T, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

// sseLines returns "line from" to "line to".
func sseLines(from, to int) []string {
	var lines []string
	for i := from; i <= to; i++ {
		lines = append(lines, "line "+strconv.Itoa(i))
	}
	return lines
}

// wantLines reads events until one holds the line last, skipping the
// "ready" lines of sseStartLog, and checks that they hold lines, in
// order, with increasing ids. It returns the events.
func (s *sseStream) wantLines(t *testing.T, lines ...string) []sseEvent {
	t.Helper()
	var got []sseEvent
	for len(got) < len(lines) {
		e := s.want(t)
		if strings.HasPrefix(e.Data, "ready ") && len(got) == 0 {
			continue
		}
		if e.Type != "message" {
			t.Fatalf("event %+v, want a line", e)
		}
		got = append(got, e)
	}
	prev := uint64(0)
	for i, e := range got {
		id, err := strconv.ParseUint(e.ID, 10, 64)
		if err != nil || id <= prev {
			t.Fatalf("event %d has id %q after %d: want increasing decimal ids", i, e.ID, prev)
		}
		prev = id
		if e.Data != lines[i] {
			t.Fatalf("events hold %q…, want %q", eventData(got), lines)
		}
	}
	return got
}

func eventData(events []sseEvent) []string {
	var data []string
	for _, e := range events {
		data = append(data, e.Data)
	}
	return data
}

// TestLogEvents follows a log as several clients would: each line is an
// event; a new client starts with the newest ?lines= lines; a client that
// reconnects with the id of the last line it received gets the lines
// appended while it was away, then the new ones, none twice; a malformed
// id counts as none; an id the hub does not know gets a reset event. Every
// client sees the same line with the same id.
func TestLogEvents(t *testing.T) {
	l := sseStartLog(t, &handlers.LogEvents{Retry: time.Second})

	a := sseOpen(t, l.client, l.url+"?lines=0", "")
	sseWaitSubscribers(t, l.hub, "logs", 1)
	l.append(t, sseLines(1, 5)...)
	first := a.wantLines(t, sseLines(1, 5)...)
	ids := map[string]string{} // line → id
	for _, e := range first {
		ids[e.Data] = e.ID
	}

	var lastOfA string
	t.Run("a new client starts with the newest lines", func(t *testing.T) {
		b := sseOpen(t, l.client, l.url+"?lines=3", "")
		got := b.wantLines(t, sseLines(3, 5)...)
		for _, e := range got {
			if e.ID != ids[e.Data] {
				t.Errorf("%q has id %s, but %s for the first client", e.Data, e.ID, ids[e.Data])
			}
		}
		l.append(t, "line 6")
		b.wantLines(t, "line 6")
		lastOfA = a.wantLines(t, "line 6")[0].ID
		a.close()
		sseWaitSubscribers(t, l.hub, "logs", 1) // b's
	})

	t.Run("a client that reconnects resumes", func(t *testing.T) {
		l.append(t, "line 7", "line 8")
		// ?lines= applies to a first connection only: EventSource sends
		// the same URL when it reconnects.
		a := sseOpen(t, l.client, l.url+"?lines=5", lastOfA)
		a.wantLines(t, "line 7", "line 8")
		l.append(t, "line 9")
		a.wantLines(t, "line 9")
	})

	t.Run("a malformed id counts as none", func(t *testing.T) {
		s := sseOpen(t, l.client, l.url+"?lines=2", "7x")
		s.wantLines(t, "line 8", "line 9")
	})

	t.Run("an id the hub does not know: reset", func(t *testing.T) {
		s := sseOpen(t, l.client, l.url, "99999999999999999999"[:19])
		e := s.want(t)
		if e.Type != sse.EventReset || e.Data != "unknown" {
			t.Fatalf("first event %+v, want a reset", e)
		}
		l.append(t, "line 10")
		s.wantLines(t, "line 10")
	})

	t.Run("the hub closes: shutdown", func(t *testing.T) {
		s := sseOpen(t, l.client, l.url+"?lines=1", "")
		s.wantLines(t, "line 10")
		l.hub.Close()
		if e := s.want(t); e.Type != sse.EventShutdown {
			t.Errorf("event %+v, want %q", e, sse.EventShutdown)
		}
		l.append(t, "line 11") // Run learns of the closed hub when it publishes
		select {
		case err := <-l.runErr:
			if !errors.Is(err, sse.ErrHubClosed) {
				t.Errorf("Run returned %v, want sse.ErrHubClosed", err)
			}
			l.runErr <- err // for the cleanup
		case <-time.After(ssePatience):
			t.Fatal("Run has not returned after the hub closed")
		}
	})
}

// TestLogEventsRecent checks that ?lines= gets at most Recent lines, the
// newest, and that bad values are answered 400 as by Tail.
func TestLogEventsRecent(t *testing.T) {
	l := sseStartLog(t, &handlers.LogEvents{Recent: 3})
	s := sseOpen(t, l.client, l.url+"?lines=0", "")
	sseWaitSubscribers(t, l.hub, "logs", 1)
	l.append(t, sseLines(1, 6)...)
	s.wantLines(t, sseLines(1, 6)...)

	for _, tt := range []struct {
		name  string
		query string
		want  []string // nil for a 400
	}{
		{"more than kept", "?lines=10", sseLines(4, 6)},
		{"the most allowed", "?lines=" + strconv.Itoa(handlers.MaxTailLines), sseLines(4, 6)},
		{"default", "", sseLines(4, 6)},
		{"fewer", "?lines=2", sseLines(5, 6)},
		{"negative", "?lines=-1", nil},
		{"too many", "?lines=" + strconv.Itoa(handlers.MaxTailLines+1), nil},
		{"not a number", "?lines=all", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want != nil {
				s := sseOpen(t, l.client, l.url+tt.query, "")
				s.wantLines(t, tt.want...)
				return
			}
			req, _ := http.NewRequest(http.MethodGet, l.url+tt.query, nil)
			req.Header.Set("Accept", "text/event-stream")
			res, err := l.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var pe handlers.ParamError
			if err := json.NewDecoder(res.Body).Decode(&pe); err != nil || res.StatusCode != http.StatusBadRequest || pe.Param != "lines" {
				t.Errorf("status %d, error %+v (%v); want 400 about lines", res.StatusCode, pe, err)
			}
		})
	}
}

// TestLogEventsMissingFile checks that Run fails at once, with an error
// matching fs.ErrNotExist, when there is no file to follow.
func TestLogEventsMissingFile(t *testing.T) {
	hub := &sse.MemHub{}
	defer hub.Close()
	logs := &handlers.LogEvents{Path: filepath.Join(t.TempDir(), "missing.log"), Hub: hub}
	if err := logs.Run(t.Context()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Run = %v, want an error matching fs.ErrNotExist", err)
	}
}

// TestWantsEventStream checks which Accept headers ask for an event
// stream: those that rank text/event-stream above text/plain.
func TestWantsEventStream(t *testing.T) {
	tests := []struct {
		name   string
		accept []string // the header's lines; nil for none
		want   bool
	}{
		{"EventSource", []string{"text/event-stream"}, true},
		{"no header", nil, false},
		{"curl", []string{"*/*"}, false},
		{"plain text", []string{"text/plain"}, false},
		{"text/*", []string{"text/*"}, false},
		{"case and spaces", []string{" Text/Event-Stream ; charset=utf-8"}, true},
		{"ranked first", []string{"text/event-stream, text/plain;q=0.9"}, true},
		{"ranked second", []string{"text/event-stream;q=0.5, text/plain"}, false},
		{"refused", []string{"text/event-stream;q=0, */*"}, false},
		{"above a wildcard", []string{"text/event-stream, */*;q=0.8"}, true},
		{"plain text refused", []string{"text/plain;q=0, text/*"}, true},
		{"malformed quality", []string{"text/event-stream;q=high"}, false},
		{"on a second header line", []string{"text/html", "text/event-stream"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range tt.accept {
				r.Header.Add("Accept", v)
			}
			if got := handlers.WantsEventStream(r); got != tt.want {
				t.Errorf("WantsEventStream(Accept: %q) = %v, want %v", tt.accept, got, tt.want)
			}
		})
	}
}

// FuzzWantsEventStream checks WantsEventStream on any Accept header: it
// never panics; it agrees with a reading of the header written here from
// its documentation (the most specific matching range counts, the first
// of equally specific ones, q is a number from 0 to 1, a range with
// another q is ignored); and putting text/event-stream first always asks
// for an event stream, unless text/plain is as welcome.
func FuzzWantsEventStream(f *testing.F) {
	for _, seed := range []string{
		"", "text/event-stream", "*/*", "text/*", "text/plain", "text/event-stream;q=0.5, text/plain",
		"text/event-stream;q=0, */*", "TEXT/EVENT-STREAM;Q=1.0", ",,;;q=,/", "text/event-stream;q=NaN",
		"text/plain;q=0, text/*", "text/event-stream; q=0.001, text/plain; q=0.0009", "text/event-stream;q=2",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Accept"] = []string{accept}
		got := handlers.WantsEventStream(r)
		plain := sseRefQuality(accept, "plain")
		if want := sseRefQuality(accept, "event-stream") > plain; got != want {
			t.Fatalf("WantsEventStream(%q) = %v, want %v", accept, got, want)
		}
		r.Header["Accept"] = []string{"text/event-stream, " + accept}
		if got := handlers.WantsEventStream(r); got != (plain < 1) {
			t.Fatalf("WantsEventStream(%q) = %v, want %v", r.Header.Get("Accept"), got, plain < 1)
		}
	})
}

// sseRefQuality returns the quality an Accept header gives text/sub: the
// q of the first well-formed range among the most specific ones matching
// it (text/sub, then text/*, then */*), 0 if none does.
func sseRefQuality(accept, sub string) float64 {
	best, bestRank := 0.0, 0
	for _, r := range strings.Split(accept, ",") {
		params := strings.Split(r, ";")
		typ, subtype, _ := strings.Cut(strings.TrimSpace(params[0]), "/")
		rank := 0
		switch {
		case strings.EqualFold(typ, "text") && strings.EqualFold(subtype, sub):
			rank = 3
		case strings.EqualFold(typ, "text") && subtype == "*":
			rank = 2
		case typ == "*" && subtype == "*":
			rank = 1
		}
		if rank <= bestRank {
			continue
		}
		q, ok := 1.0, true
		for _, p := range params[1:] {
			name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(name), "q") {
				v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
				q, ok = v, err == nil && v >= 0 && v <= 1
				break // the first q counts
			}
		}
		if ok {
			best, bestRank = q, rank
		}
	}
	return best
}
