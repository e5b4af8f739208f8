package handlers_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/ticket"
)

// authServer is an Events handler whose topic private needs a ticket
// (package ticket) in ?ticket=, as Events.Authorize documents, while topic
// news is public.
type authServer struct {
	hub     *sse.MemHub
	tickets *ticket.Signer
	client  *http.Client
	url     string           // of /events
	calls   atomic.Int32     // of Authorize
	reports chan sink.Report // of every request that reached the sink
}

// authRetry is the servers' retry time.
const authRetry = 1500 * time.Millisecond

// newAuthServer serves the Events handler of events, with Authorize and
// OnReport set to authServer's, over HTTP/1.1 or HTTP/2.
func newAuthServer(t *testing.T, http2 bool, events handlers.Events) *authServer {
	t.Helper()
	tickets, err := ticket.NewSigner([]byte("a key for the tests, 32 bytes ok"))
	if err != nil {
		t.Fatal(err)
	}
	s := &authServer{hub: &sse.MemHub{}, tickets: tickets, reports: make(chan sink.Report, 16)}
	events.Hub, events.Topics, events.Retry = s.hub, []string{"news", "private"}, authRetry
	events.OnReport = func(_ *gin.Context, r sink.Report) { s.reports <- r }
	if events.Authorize == nil {
		events.Authorize = s.authorize
	}
	engine := gin.New()
	engine.GET("/events", events.Handler())
	client, base := loopback.Serve(t, http2, engine, 0)
	t.Cleanup(func() { s.hub.Close() }) // before the server closes, which waits for its handlers
	s.client, s.url = client, base+"/events"
	return s
}

// authorize is the documented pattern: no check for a public topic, a
// ticket for the topic for a private one, the stream ending with it.
func (s *authServer) authorize(c *gin.Context, topic string) (time.Time, error) {
	s.calls.Add(1)
	if topic != "private" {
		return time.Time{}, nil
	}
	token := c.Query("ticket")
	if token == "" {
		c.Header("WWW-Authenticate", `Ticket realm="events"`)
		return time.Time{}, sink.WithStatus(http.StatusUnauthorized, errors.New("topic private needs a ticket"))
	}
	until, err := s.tickets.Check(token, topic)
	if err != nil {
		c.Header("WWW-Authenticate", `Ticket realm="events"`)
		return time.Time{}, sink.WithStatus(http.StatusUnauthorized, err)
	}
	return until, nil
}

// report returns the report of the next request that reached the sink.
func (s *authServer) report(t *testing.T) sink.Report {
	t.Helper()
	select {
	case r := <-s.reports:
		return r
	case <-time.After(ssePatience):
		t.Fatal("no report")
		return sink.Report{}
	}
}

// get requests the query of /events as EventSource does and returns the
// response with its whole body, for an answer that is not a stream.
func (s *authServer) get(t *testing.T, query url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"?"+query.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return res, string(body)
}

// TestEventsAuthorizeRefuses checks requests that Authorize refuses: each is
// answered with the error's status and a one-line text body before any
// byte of a stream (no event stream, no retry field, no subscription),
// and is reported as a failed stream.
func TestEventsAuthorizeRefuses(t *testing.T) {
	s := newAuthServer(t, false, handlers.Events{})
	newsTicket, _ := s.tickets.Issue("news", time.Minute)
	expired, _ := s.tickets.Issue("private", -time.Millisecond)
	tests := []struct {
		name   string
		query  url.Values
		status int
		body   string
	}{
		{"no ticket", url.Values{"topic": {"private"}}, 401, "401 Unauthorized: topic private needs a ticket\n"},
		{"another topic's ticket", url.Values{"topic": {"private"}, "ticket": {newsTicket}}, 401, "401 Unauthorized: ticket: bad signature\n"},
		{"an expired ticket", url.Values{"topic": {"private"}, "ticket": {expired}}, 401, "401 Unauthorized: ticket: expired\n"},
		{"not a ticket", url.Values{"topic": {"private"}, "ticket": {"<script>"}}, 401, "401 Unauthorized: ticket: malformed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := s.get(t, tt.query)
			if res.StatusCode != tt.status || body != tt.body {
				t.Errorf("%d %q; want %d %q", res.StatusCode, body, tt.status, tt.body)
			}
			for h, want := range map[string]string{
				"Content-Type":     "text/plain; charset=utf-8",
				"Cache-Control":    "no-store",
				"WWW-Authenticate": `Ticket realm="events"`,
			} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
			if r := s.report(t); r.Outcome != sink.Failed || r.Status != tt.status || r.Bytes != 0 || sink.StatusOf(r.Err) != tt.status {
				t.Errorf("report %+v; want outcome failed, status %d, no bytes", r, tt.status)
			}
			if n := s.hub.Subscribers("private"); n != 0 {
				t.Errorf("%d subscribers of the topic, want none", n)
			}
		})
	}
}

// TestEventsAuthorizeStatuses checks the status of each kind of error
// Authorize may return: its own for a client error, with its message; 500
// for an error without a status, whose message stays in the log; and 401
// for a non-zero until that has passed.
func TestEventsAuthorizeStatuses(t *testing.T) {
	tests := []struct {
		name   string
		until  time.Time
		err    error
		status int
		body   string
	}{
		{"forbidden", time.Time{}, sink.WithStatus(http.StatusForbidden, errors.New("not your topic")), 403, "403 Forbidden: not your topic\n"},
		{"the check failed", time.Time{}, errors.New("session store at 10.0.0.7 unreachable"), 500, "500 Internal Server Error\n"},
		{"until has passed", time.Now().Add(-time.Second), nil, 401, "401 Unauthorized: authorization expired\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAuthServer(t, false, handlers.Events{Authorize: func(*gin.Context, string) (time.Time, error) {
				return tt.until, tt.err
			}})
			res, body := s.get(t, url.Values{"topic": {"news"}})
			if res.StatusCode != tt.status || body != tt.body {
				t.Errorf("%d %q; want %d %q", res.StatusCode, body, tt.status, tt.body)
			}
			if r := s.report(t); r.Outcome != sink.Failed || r.Status != tt.status {
				t.Errorf("report %+v; want outcome failed, status %d", r, tt.status)
			}
		})
	}
}

// TestEventsAuthorizeOrder checks that a topic is checked before
// Authorize, which a 400 never reaches, and that a refusal takes no slot
// of the Limit: with its one slot held by a stream, a request without a
// ticket is still told 401, not 503.
func TestEventsAuthorizeOrder(t *testing.T) {
	s := newAuthServer(t, false, handlers.Events{Config: sink.Config{Limit: sink.NewLimit(1, time.Second)}})
	if res, _ := s.get(t, url.Values{"topic": {"secret"}}); res.StatusCode != http.StatusBadRequest || s.calls.Load() != 0 {
		t.Fatalf("an unknown topic: %d after %d calls of Authorize; want 400 after none", res.StatusCode, s.calls.Load())
	}
	sseOpen(t, s.client, s.url+"?topic=news", "")
	sseWaitSubscribers(t, s.hub, "news", 1)
	if res, _ := s.get(t, url.Values{"topic": {"private"}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no ticket, the Limit full: %d, want 401", res.StatusCode)
	}
	if r := s.report(t); r.Status != http.StatusUnauthorized {
		t.Fatalf("report %+v, want the 401's", r)
	}
	token, _ := s.tickets.Issue("private", time.Minute)
	if res, _ := s.get(t, url.Values{"topic": {"private"}, "ticket": {token}}); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a ticket, the Limit full: %d, want 503", res.StatusCode)
	}
}

// TestEventsAuthorizeUntil streams the private topic with a short ticket:
// the events arrive until the ticket expires, and then, no earlier, the
// stream ends with a retry field (the Writer's retry plus jitter) and a
// clean end, reported as expired; the same URL, which EventSource sends
// when it reconnects, is refused with 401. The public topic, which
// Authorize gives no end, goes on.
func TestEventsAuthorizeUntil(t *testing.T) {
	for _, http2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP1.1", true: "HTTP2"}[http2], func(t *testing.T) {
			s := newAuthServer(t, http2, handlers.Events{})
			public := sseOpen(t, s.client, s.url+"?topic=news", "")
			token, expires := s.tickets.Issue("private", time.Second)
			private := sseOpen(t, s.client, s.url+"?topic=private&ticket="+token, "")
			sseWaitSubscribers(t, s.hub, "private", 1)
			sseWaitSubscribers(t, s.hub, "news", 1)
			sent := ssePublish(t, s.hub, "private", sse.Event{Name: "secret", Data: "for ticket holders"})
			if e := private.want(t); e.Type != "secret" || e.ID != sent.ID {
				t.Fatalf("event %+v, want %+v", e, sent)
			}
			private.retry = -1 // the retry field the stream opened with is not the one sought

			e, err := private.next()
			ended := time.Now()
			if err != io.EOF {
				t.Fatalf("the private stream went on with %+v, %v; want a clean end", e, err)
			}
			if ended.Before(expires) {
				t.Errorf("the private stream ended at %v, before the ticket's expiry %v", ended, expires)
			}
			if lo, hi := authRetry.Milliseconds(), authRetry.Milliseconds()*3/2; int64(private.retry) < lo || int64(private.retry) > hi {
				t.Errorf("retry field %d ms at the end, want %d to %d", private.retry, lo, hi)
			}
			if r := s.report(t); r.Outcome != sink.Expired || r.Status != http.StatusOK || !errors.Is(r.Err, sink.ErrMaxDuration) {
				t.Errorf("report %+v, want outcome expired, status 200", r)
			}

			res, body := s.get(t, url.Values{"topic": {"private"}, "ticket": {token}})
			if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "ticket: expired") {
				t.Errorf("reconnecting with the expired ticket: %d %q, want 401 saying it expired", res.StatusCode, body)
			}
			s.report(t)

			news := ssePublish(t, s.hub, "news", sse.Event{Data: "still here"})
			if e := public.want(t); e.ID != news.ID {
				t.Errorf("public event %+v, want %+v", e, news)
			}
		})
	}
}

// TestEventsAuthorizeUntilAndMaxDuration checks that a stream ends at the
// earlier of Authorize's until and Config.MaxDuration.
func TestEventsAuthorizeUntilAndMaxDuration(t *testing.T) {
	const short, long = 300 * time.Millisecond, time.Hour
	tests := []struct {
		name            string
		until, duration time.Duration
	}{
		{"until first", short, long},
		{"MaxDuration first", long, short},
		{"no MaxDuration", short, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAuthServer(t, false, handlers.Events{
				Authorize: func(*gin.Context, string) (time.Time, error) { return time.Now().Add(tt.until), nil },
				Config:    sink.Config{MaxDuration: tt.duration},
			})
			start := time.Now()
			stream := sseOpen(t, s.client, s.url, "")
			for {
				if _, err := stream.next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("the stream failed: %v", err)
				}
			}
			if took := time.Since(start); took < short || took > ssePatience {
				t.Errorf("the stream ended after %v, want %v or a little more", took, short)
			}
			if r := s.report(t); r.Outcome != sink.Expired {
				t.Errorf("report %+v, want outcome expired", r)
			}
		})
	}
}
