package main

import (
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	natsserver "github.com/nats-io/nats-server/v2/server"
)

// testNATS is a JetStream server that demo instances share in a test: the
// demo's own embedded server, on a port of 127.0.0.1 that stays the same
// across restarts, storing in a directory of the test's.
type testNATS struct {
	t    *testing.T
	port int
	dir  string
	srv  *natsserver.Server
}

// startTestNATS starts a JetStream server that t's end shuts down.
func startTestNATS(t *testing.T) *testNATS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &testNATS{t: t, port: ln.Addr().(*net.TCPAddr).Port, dir: t.TempDir()}
	ln.Close()
	n.start()
	t.Cleanup(n.stop)
	return n
}

// start starts the server (again) on its port and store.
func (n *testNATS) start() {
	n.t.Helper()
	srv, err := startNATSServer(n.dir, "127.0.0.1", n.port)
	if err != nil {
		n.t.Fatal(err)
	}
	n.srv = srv
}

// stop shuts the server down, if it runs, and waits until it has.
func (n *testNATS) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// url returns the server's URL, for -nats.
func (n *testNATS) url() string { return "nats://127.0.0.1:" + strconv.Itoa(n.port) }

// tickCounts counts the ticks of each number: each instance that publishes
// numbers its ticks 1, 2, 3, …
func tickCounts(t *testing.T, ticks []event) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for _, e := range ticks {
		counts[parseTick(t, e).N]++
	}
	return counts
}

// sameEvents fails t unless the events have the same ids, types and data.
func sameEvents(t *testing.T, what string, got, want []event) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\ngot  %+v\nwant %+v", what, got, want)
	}
}

// readUntil reads the stream's events until one has the id id (and
// returns those of type typ), failing t if the stream ends first.
func readUntil(t *testing.T, s *eventStream, typ, id string) []event {
	t.Helper()
	var got []event
	for {
		e := s.want(t)
		if e.Type == typ {
			got = append(got, e)
		}
		if e.ID == id {
			return got
		}
	}
}

// TestDemoCluster runs three demo instances on one NATS server, B and C
// publishing ticks, A not:
//
//   - a client of A receives the ticks of both B and C (each tick number
//     twice), with ids one apart;
//   - when A stops mid-stream, the client resumes on B with its
//     Last-Event-ID and receives exactly what a client of C received
//     meanwhile: nothing missed, nothing twice;
//   - when the NATS server restarts, the running streams end with an
//     "error" event (after the retry time they opened with), and the
//     instances carry on: clients resume on each with nothing missed.
func TestDemoCluster(t *testing.T) {
	ns := startTestNATS(t)
	args := []string{"-users", "10", "-event-interval", "50ms", "-nats", ns.url()}
	a := startDemo(t, t.TempDir(), nil, append(args, "-publish=false")...)
	b := startDemo(t, t.TempDir(), nil, args...)
	c := startDemo(t, t.TempDir(), nil, args...)

	client := openEvents(t, a, "/events", "")
	first := client.take(t, eventTick, 1)[0]
	observer := openEvents(t, c, "/events", first.ID)

	t.Run("A receives the ticks of B and C", func(t *testing.T) {
		ticks := client.take(t, eventTick, 40)
		checkConsecutive(t, idOf(t, first), ticks)
		twice := 0
		for _, k := range tickCounts(t, ticks) {
			if k > 2 {
				t.Fatalf("a tick number %d times: more publishers than B and C", k)
			}
			if k == 2 {
				twice++
			}
		}
		if twice < 5 {
			t.Fatalf("%d tick numbers arrived twice in 40 ticks, want most: both B and C publish", twice)
		}
	})

	t.Run("A stops: resume on B", func(t *testing.T) {
		last := client.take(t, eventTick, 5)[4]
		if err := a.stop(); err != nil {
			t.Fatal(err)
		}
		// A's stream ends with its shutdown event.
		for {
			e, err := client.next()
			if err != nil {
				break
			}
			if e.Type == "shutdown" {
				break
			}
			if e.Type == eventTick {
				last = e
			}
		}
		time.Sleep(200 * time.Millisecond) // away long enough to miss ticks; not an assertion
		resumed := openEvents(t, b, "/events", last.ID)
		after := resumed.take(t, eventTick, 20)
		checkConsecutive(t, idOf(t, last), after)
		// What the observer on C received over the same ids.
		seen := readUntil(t, observer, eventTick, after[len(after)-1].ID)
		i := slices.IndexFunc(seen, func(e event) bool { return e.ID == last.ID })
		if i < 0 {
			t.Fatalf("the observer did not receive event %s", last.ID)
		}
		sameEvents(t, "resumed on B, against the observer on C", after, seen[i+1:])
	})

	t.Run("NATS restarts: the instances carry on", func(t *testing.T) {
		s := openEvents(t, b, "/events", "")
		s.take(t, eventTick, 3)
		ns.stop()
		var last event
		for {
			e := s.want(t)
			if e.Type == "error" {
				// The broker is the server's business: the client is
				// told the service is unavailable, not what failed.
				if e.Data != "Service Unavailable" {
					t.Errorf("the error event says %q, want %q", e.Data, "Service Unavailable")
				}
				break
			}
			if e.Type == eventTick {
				last = e
			}
		}
		if retry := int(eventRetry.Milliseconds()); s.retry < retry || s.retry > retry*3/2 {
			t.Errorf("the error event's retry time is %d ms, want %d to %d (with jitter): the client's hint for when to come back", s.retry, retry, retry*3/2)
		}
		if _, err := s.next(); err == nil {
			t.Error("an event after the error event: want the end of the stream")
		}
		ns.start()
		for _, d := range []*demo{b, c} {
			after := resumeWhenBack(t, d, last.ID, 20)
			checkConsecutive(t, idOf(t, last), after)
		}
	})
}

// resumeWhenBack opens /events of d from lastID, again and again while
// the stream fails at once (NATS is not back yet), and returns n ticks.
func resumeWhenBack(t *testing.T, d *demo, lastID string, n int) []event {
	t.Helper()
	deadline := time.Now().Add(eventPatience)
	for {
		s := openEvents(t, d, "/events", lastID)
		e, err := s.next()
		if err == nil && e.Type != "error" {
			var got []event
			if e.Type == eventTick {
				got = append(got, e)
			}
			for len(got) < n {
				if e := s.want(t); e.Type == eventTick {
					got = append(got, e)
				}
			}
			s.close()
			return got
		}
		s.close()
		if time.Now().After(deadline) {
			t.Fatalf("%s: /events still fails %v after NATS restarted: %+v, %v", d.url, eventPatience, e, err)
		}
		time.Sleep(200 * time.Millisecond) // as EventSource's retry; not an assertion
	}
}

// switchProxy is a reverse proxy whose backend can be switched, as a load
// balancer sends a browser's reconnection to another instance when the
// first is gone.
type switchProxy struct {
	url     string
	backend atomic.Pointer[url.URL]
}

// startSwitchProxy starts a proxy to backend that t's end closes.
func startSwitchProxy(t *testing.T, backend string) *switchProxy {
	t.Helper()
	p := &switchProxy{}
	p.to(t, backend)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(p.backend.Load()) }}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// to sends the requests from now on to backend.
func (p *switchProxy) to(t *testing.T, backend string) {
	t.Helper()
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	p.backend.Store(u)
}

// TestBrowserEventSourceCluster opens the page in headless Chromium
// through a proxy in front of instance A of two that share a NATS server
// (B publishes): when A stops, the page's EventSource streams get A's
// shutdown event, reconnect through the proxy to B and resume there from
// their Last-Event-ID: no event missed, none twice, no reset.
func TestBrowserEventSourceCluster(t *testing.T) {
	ns := startTestNATS(t)
	args := []string{"-users", "10", "-event-interval", "100ms", "-log-interval", "50ms", "-nats", ns.url()}
	a := startDemo(t, t.TempDir(), nil, append(args, "-publish=false")...)
	b := startDemo(t, t.TempDir(), nil, args...)
	proxy := startSwitchProxy(t, a.url)
	ctx := newBrowser(t)
	do(t, ctx, "opening the page", chromedp.Navigate(proxy.url+"/"), chromedp.WaitVisible(chromedp.ID("events-output")))

	views := []string{"events", "live-log"}
	before := map[string]liveView{}
	for _, prefix := range views {
		v := waitView(t, ctx, prefix, "open, with 10 events", func(v liveView) bool { return v.State == "open" && v.Received >= 10 })
		checkViewIDs(t, prefix, v)
		before[prefix] = v
	}

	proxy.to(t, b.url)
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range views {
		bv := before[prefix]
		v := waitView(t, ctx, prefix, "shutdown, reconnected to B, with 10 more events", func(v liveView) bool {
			shutdown := slices.ContainsFunc(v.Items, func(it liveItem) bool { return it.Kind == "shutdown" })
			return shutdown && v.State == "open" && v.Reconnects > bv.Reconnects && v.Received >= bv.Received+10
		})
		if v.Resets != 0 {
			t.Errorf("%s: %d resets after moving to B, want none: the stream has the events", prefix, v.Resets)
		}
		runs := checkViewIDs(t, prefix, v)
		if len(runs) != 1 {
			t.Fatalf("%s: %d runs of events, want one across the move to B", prefix, len(runs))
		}
		if prefix == "live-log" {
			checkLogRun(t, b, runs[0])
		}
	}
	if got := evaluate[string](t, ctx, `location.origin`); got != proxy.url {
		t.Errorf("the page is at %s, want the proxy %s", got, proxy.url)
	}
}

// TestDemoNATSEmbedded runs the demo with its own JetStream server, which
// keeps the events in the data directory: after a restart, a client
// resumes from the id it had with nothing missed (a demo with events in
// memory gives it a reset instead).
func TestDemoNATSEmbedded(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-users", "10", "-event-interval", "20ms", "-nats", "embedded"}
	d := startDemo(t, dir, nil, args...)
	if out := d.out.String(); !strings.Contains(out, "embedded JetStream server started") {
		t.Errorf("the output does not say where the embedded NATS server is:\n%s", out)
	}
	s := openEvents(t, d, "/events", "")
	before := s.take(t, eventTick, 5)
	checkConsecutive(t, 0, before)
	last := before[4]
	s.close()
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	d = startDemo(t, dir, nil, args...)
	s = openEvents(t, d, "/events", last.ID)
	var after []event
	for len(after) < 5 {
		e := s.want(t)
		if e.Type == "reset" {
			t.Fatalf("a reset after the restart: the events were not kept: %+v", e)
		}
		if e.Type == eventTick {
			after = append(after, e)
		}
	}
	checkConsecutive(t, idOf(t, last), after)
}

// TestDemoNATSUnreachable: a demo that cannot reach NATS at start exits
// at once, saying so.
func TestDemoNATSUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	out := newDemoOutput()
	args := []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-users", "10", "-nats", "nats://" + addr}
	err = run(t.Context(), args, func(string) string { return "" }, out)
	if err == nil || !strings.Contains(err.Error(), "cannot connect to NATS at nats://"+addr) {
		t.Fatalf("run = %v, want an error saying NATS at %s cannot be reached", err, addr)
	}
	if strings.Contains(out.String(), "open http") {
		t.Errorf("the demo served before failing:\n%s", out.String())
	}
}
