package sse_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/internal/loopback"
)

// patience bounds every wait of these tests, so that a broken stream fails
// the test instead of hanging it. It is a deadlock guard, not a
// performance claim.
const patience = 10 * time.Second

// protocol is an HTTP version the tests run over.
type protocol struct {
	name  string
	http2 bool
}

var protocols = []protocol{{"HTTP1.1", false}, {"HTTP2", true}}

// serve serves h over p on loopback until the test ends, and returns a
// client that speaks p and the server's base URL. A positive bufSize sets
// each connection's send buffer on the server and receive buffer on the
// client (and, over HTTP/2, the client's window for a stream), so that a
// client that does not read holds up its stream early.
func serve(t *testing.T, p protocol, h http.Handler, bufSize int) (*http.Client, string) {
	t.Helper()
	return loopback.Serve(t, p.http2, h, bufSize)
}

// item is what an event stream delivers: a dispatched event, or a
// comment.
type item struct {
	Event   parsed
	Comment string // for a comment line; Event is then zero
}

// eventClient reads an event stream as it arrives, interpreting it with
// the spec-following parser of parse_test.go one event at a time.
type eventClient struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
	lastID string // the last event ID, as EventSource keeps it
	retry  int    // the last retry received, in ms; -1 if none
}

// connect opens an event stream. header, if not empty, is sent as
// Last-Event-ID. The stream is closed when the test ends, or by close.
func connect(t *testing.T, client *http.Client, url, lastEventID string) *eventClient {
	t.Helper()
	h := http.Header{}
	if lastEventID != "" {
		h.Set("Last-Event-ID", lastEventID)
	}
	return connectWith(t, client, url, h)
}

// connectWith opens an event stream with the given request headers; empty
// ones are not sent.
func connectWith(t *testing.T, client *http.Client, url string, header http.Header) *eventClient {
	t.Helper()
	ec, err := tryConnectWith(client, url, header)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(ec.close)
	if ec.resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(ec.resp.Body)
		t.Fatalf("GET %s: %s %q", url, ec.resp.Status, body)
	}
	return ec
}

// tryConnect opens an event stream, giving up after patience.
func tryConnect(client *http.Client, url, lastEventID string) (*eventClient, error) {
	return tryConnectWith(client, url, http.Header{"Last-Event-ID": {lastEventID}})
}

// tryConnectWith opens an event stream with the given request headers,
// giving up after patience.
func tryConnectWith(client *http.Client, url string, header http.Header) (*eventClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		if len(v) > 0 && v[0] != "" {
			req.Header[k] = v
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	return &eventClient{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel, retry: -1}, nil
}

// close disconnects the client abruptly.
func (c *eventClient) close() {
	c.cancel()
	c.resp.Body.Close()
}

// next returns the next event or comment, or the error that ended the
// stream: io.EOF if it ended cleanly.
func (c *eventClient) next() (item, error) {
	var block strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && (line != "" || block.Len() > 0) {
				err = io.ErrUnexpectedEOF // an event cut short
			}
			return item{}, err
		}
		if block.Len() == 0 && strings.HasPrefix(line, ":") {
			return item{Comment: strings.TrimSuffix(line[1:], "\n")}, nil
		}
		block.WriteString(line)
		if line != "\n" {
			continue
		}
		s := parse(block.String())
		block.Reset()
		if s.retry >= 0 {
			c.retry = s.retry
		}
		if s.lastEventID != "" {
			c.lastID = s.lastEventID
		}
		if len(s.events) > 0 {
			e := s.events[0]
			e.LastEventID = c.lastID
			return item{Event: e}, nil
		}
	}
}

// nextEvent returns the next event, skipping comments, failing the test if
// the stream ends first.
func (c *eventClient) nextEvent(t *testing.T) parsed {
	t.Helper()
	for {
		it, err := c.next()
		if err != nil {
			t.Fatalf("stream ended before the next event: %v", err)
		}
		if it.Comment == "" {
			return it.Event
		}
	}
}

// events reads n events.
func (c *eventClient) events(t *testing.T, n int) []parsed {
	t.Helper()
	out := make([]parsed, n)
	for i := range out {
		out[i] = c.nextEvent(t)
	}
	return out
}

// opened reads what a stream sends as it opens: a retry field alone.
func (c *eventClient) opened(t *testing.T) {
	t.Helper()
	// The retry block dispatches nothing: read it by hand.
	line, err := c.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("stream opened with %q, %v; want a retry field", line, err)
	}
	blank, err := c.r.ReadString('\n')
	if err != nil || blank != "\n" {
		t.Fatalf("retry field followed by %q, %v; want a blank line", blank, err)
	}
	c.retry = parse(line + blank).retry
}

// end reads the rest of the stream, which must hold no further event, and
// returns how it ended: io.EOF if cleanly.
func (c *eventClient) end(t *testing.T) error {
	t.Helper()
	for {
		it, err := c.next()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("stream did not end within %v", patience)
			}
			return err
		}
		if it.Comment == "" {
			t.Fatalf("unexpected event %+v before the end", it.Event)
		}
	}
}
