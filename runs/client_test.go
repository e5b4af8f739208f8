package runs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// patience bounds every wait of these tests, so that a broken stream fails
// the test instead of hanging it.
const patience = 10 * time.Second

// quiet discards the logs of runs and streams that fail, as many here do.
var quiet = slog.New(slog.DiscardHandler)

// serve serves GET /runs/:id through m.Attach on loopback until the test
// ends, and returns the server's base URL and its client.
func serve(t *testing.T, m *runs.Manager) (string, *http.Client) {
	t.Helper()
	engine := gin.New()
	engine.GET("/runs/:id", func(c *gin.Context) { m.Attach(c, c.Param("id")) })
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return srv.URL, srv.Client()
}

// event is what a client receives: an event of a stream or a line of
// NDJSON, in the same shape.
type event struct {
	ID    string `json:"id,omitempty"`
	Event string `json:"event,omitempty"` // "" for "message"
	Data  string `json:"data"`
}

// format is how a client attaches.
type format string

const (
	asSSE    format = "sse"
	asNDJSON format = "ndjson"
)

var formats = []format{asSSE, asNDJSON}

// stream is an attached client, reading as the stream arrives.
type stream struct {
	format format
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
	lastID string // the id of the last event received with one
}

// attach attaches to url as f, resuming after the event id from if it is
// not empty; the stream is closed when the test ends.
func attach(t *testing.T, client *http.Client, url string, f format, from string) *stream {
	t.Helper()
	s, err := tryAttach(client, url, f, from)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	if s.resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(s.resp.Body)
		t.Fatalf("GET %s: %s %q", url, s.resp.Status, body)
	}
	return s
}

// tryAttach attaches to url as f, giving up after patience.
func tryAttach(client *http.Client, url string, f format, from string) (*stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	switch {
	case f == asSSE:
		req.Header.Set("Accept", "text/event-stream")
		if from != "" {
			req.Header.Set("Last-Event-ID", from)
		}
	case from != "":
		req.URL.RawQuery = "from=" + from
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	return &stream{format: f, resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}, nil
}

// close disconnects the client.
func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the next event, or the error that ended the stream: io.EOF
// if it ended cleanly. An event stream's comments and retry fields are
// skipped.
func (s *stream) next() (event, error) {
	e, err := s.read()
	if e.ID != "" {
		s.lastID = e.ID
	}
	return e, err
}

// read reads the next event.
func (s *stream) read() (event, error) {
	if s.format == asNDJSON {
		l, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && l != "" {
				err = io.ErrUnexpectedEOF
			}
			return event{}, err
		}
		var e event
		err = json.Unmarshal([]byte(l), &e)
		return e, err
	}
	var (
		e       event
		hasData bool
		started bool
	)
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && (l != "" || started) {
				err = io.ErrUnexpectedEOF
			}
			return event{}, err
		}
		l = strings.TrimSuffix(l, "\n")
		if l == "" {
			if hasData {
				return e, nil
			}
			e, started = event{}, false // a retry field alone dispatches nothing
			continue
		}
		if strings.HasPrefix(l, ":") {
			continue
		}
		started = true
		name, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			e.ID = value
		case "event":
			e.Event = value
		case "data":
			if hasData {
				e.Data += "\n"
			}
			e.Data, hasData = e.Data+value, true
		}
	}
}

// events reads n events, failing the test if the stream ends first.
func (s *stream) events(t *testing.T, n int) []event {
	t.Helper()
	out := make([]event, n)
	for i := range out {
		e, err := s.next()
		if err != nil {
			t.Fatalf("stream ended after %d of %d events: %v", i, n, err)
		}
		out[i] = e
	}
	return out
}

// end reads the run's end event and the stream's clean end, and returns
// the Info the end event carries.
func (s *stream) end(t *testing.T) runs.Info {
	t.Helper()
	e, err := s.next()
	if err != nil {
		t.Fatalf("stream ended without an end event: %v", err)
	}
	if e.Event != sse.EventEnd {
		t.Fatalf("event %+v, want the end event", e)
	}
	var info runs.Info
	if err := json.Unmarshal([]byte(e.Data), &info); err != nil {
		t.Fatalf("end event's data %q: %v", e.Data, err)
	}
	if e, err := s.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the end event: %+v, %v; want a clean end", e, err)
	}
	return info
}

// feed is a producer that yields the events sent to it, and completes
// when it is closed.
type feed chan sse.Event

func (f feed) produce(ctx context.Context, yield func(sse.Event) error) error {
	for {
		select {
		case e, ok := <-f:
			if !ok {
				return nil
			}
			if err := yield(e); err != nil {
				return err
			}
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// items returns n message events with data prefix-1, prefix-2, …
func items(prefix string, from, n int) []sse.Event {
	out := make([]sse.Event, n)
	for i := range out {
		out[i] = sse.Event{Data: prefix + "-" + itoa(from+i)}
	}
	return out
}

// send sends events to the feed.
func (f feed) send(events ...sse.Event) {
	for _, e := range events {
		f <- e
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// data returns the data of events.
func data(events []event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Data
	}
	return out
}

// newManager returns a Manager with quiet logs, closed when the test ends.
func newManager(t *testing.T, m *runs.Manager) *runs.Manager {
	t.Helper()
	if m.Logger == nil {
		m.Logger = quiet
	}
	if m.Events.Logger == nil {
		m.Events.Logger = quiet
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// start starts a run of producer, failing the test if it cannot.
func start(t *testing.T, m *runs.Manager, spec runs.Spec, producer func(context.Context, func(sse.Event) error) error) runs.Info {
	t.Helper()
	info, created, err := m.Start(spec, producer)
	if err != nil || !created {
		t.Fatalf("Start: created %v, %v", created, err)
	}
	return info
}

// before reports whether the decimal event id a is less than b.
func before(a, b string) bool {
	return len(a) < len(b) || len(a) == len(b) && a < b
}

// waitState waits until run id is in state.
func waitState(t *testing.T, m *runs.Manager, id string, state runs.State) runs.Info {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		info, err := m.Get(t.Context(), id)
		if err == nil && info.State == state {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: %+v, %v; want it %s", id, info, err, state)
		}
		time.Sleep(time.Millisecond)
	}
}

// running serves m on loopback and starts a run of a feed on it, and
// returns the feed, the run, its URL and the server's client.
func running(t *testing.T, m *runs.Manager) (feed, runs.Info, string, *http.Client) {
	t.Helper()
	base, client := serve(t, newManager(t, m))
	run := make(feed)
	info := start(t, m, runs.Spec{Kind: "feed"}, run.produce)
	return run, info, base + "/runs/" + info.ID, client
}
