package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// dropProxy is a TCP proxy between the browser and the demo. dropAll
// closes every connection through it at once, which the browser sees as
// the server dropping its connections (a crashed load balancer, a network
// failure), while the demo runs on.
type dropProxy struct {
	ln       net.Listener
	upstream string // host:port

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // both ends of every connection
	closed bool
	wg     sync.WaitGroup // the accept loop and every connection's goroutines
}

// startDropProxy starts a proxy to upstream (host:port) on a free port of
// 127.0.0.1; t's end closes it and waits for its goroutines.
func startDropProxy(t *testing.T, upstream string) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// url returns the proxy's base URL.
func (p *dropProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *dropProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Go(func() { p.relay(c) })
	}
}

// relay copies between c and a new connection to the upstream until
// either side ends or the connection is dropped. A failure to reach the
// upstream (the demo is restarting) closes c at once.
func (p *dropProxy) relay(c net.Conn) {
	defer c.Close()
	u, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	defer u.Close()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, u)
		p.mu.Unlock()
	}()
	var copies sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		c.Close() // ends the other copy too
		u.Close()
	}
	copies.Go(func() { pipe(u, c) })
	copies.Go(func() { pipe(c, u) })
	copies.Wait()
}

// dropAll closes every connection through the proxy and returns how many
// there were.
func (p *dropProxy) dropAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	return len(p.conns) / 2
}

func (p *dropProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ln.Close()
	p.dropAll()
	p.wg.Wait()
}

// liveView is what the page shows of one of its EventSource streams.
type liveView struct {
	State      string     `json:"state"`
	LastID     string     `json:"lastId"`
	Received   int        `json:"received"`
	Reconnects int        `json:"reconnects"`
	Resets     int        `json:"resets"`
	Items      []liveItem `json:"items"`
}

// liveItem is an event shown by a live view, or a note about the stream.
type liveItem struct {
	Kind string `json:"kind"` // "event", or the note's kind: "reset", "shutdown", "missed", "failed"
	ID   string `json:"id"`   // the event's id, or a reset's: the id the stream goes on from
	Text string `json:"text"`
}

// readView returns what the page shows of the live view whose elements'
// ids start with prefix.
func readView(t *testing.T, ctx context.Context, prefix string) liveView {
	t.Helper()
	return evaluate[liveView](t, ctx, fmt.Sprintf(`(() => {
		const el = (name) => document.getElementById(%q + "-" + name);
		const n = (name) => Number(el(name).textContent.replaceAll(",", ""));
		return {
			state: el("status").dataset.state,
			lastId: el("last-id").textContent,
			received: n("received"), reconnects: n("reconnects"), resets: n("resets"),
			items: [...el("output").children].map((e) => ({
				kind: e.classList.contains("marker") ? e.classList[1] : "event",
				id: e.dataset.id || "",
				text: e.textContent,
			})),
		};
	})()`, prefix))
}

// waitView polls a live view until cond holds, failing t if it does not
// within a generous deadline.
func waitView(t *testing.T, ctx context.Context, prefix, what string, cond func(v liveView) bool) liveView {
	t.Helper()
	var v liveView
	waitUntil(t, prefix+": "+what, func() bool {
		v = readView(t, ctx, prefix)
		return cond(v)
	})
	return v
}

// checkViewIDs checks that the events a view shows have the ids a topic
// of the demo's hub gives them, one after another, with no id missing or
// shown twice: after a reset, the events go on from the reset's id. It
// returns the runs of consecutive events between resets.
func checkViewIDs(t *testing.T, prefix string, v liveView) [][]liveItem {
	t.Helper()
	var runs [][]liveItem
	var prev uint64
	for i, it := range v.Items {
		if it.Kind != "event" && it.Kind != "reset" {
			continue
		}
		id, err := strconv.ParseUint(it.ID, 10, 64)
		if err != nil {
			t.Fatalf("%s: item %d %+v has no decimal id", prefix, i, it)
		}
		switch {
		case it.Kind == "reset":
			if id < prev {
				t.Fatalf("%s: a reset to id %d after %d", prefix, id, prev)
			}
			runs = append(runs, nil)
		case prev != 0 && id != prev+1:
			t.Fatalf("%s: item %d has id %d after %d: events missed or shown twice", prefix, i, id, prev)
		case len(runs) == 0:
			runs = append(runs, nil)
		}
		prev = id
		if it.Kind == "event" {
			runs[len(runs)-1] = append(runs[len(runs)-1], it)
		}
	}
	return runs
}

// checkLogRun checks that the lines of a run of log events are
// consecutive lines of the log file.
func checkLogRun(t *testing.T, d *demo, run []liveItem) {
	t.Helper()
	if len(run) == 0 {
		return
	}
	var lines []string
	for _, it := range run {
		lines = append(lines, it.Text)
	}
	file := readLines(t, filepath.Join(d.dataDir, logFile))
	start := slices.Index(file, lines[0])
	if start < 0 || start+len(lines) > len(file) || !slices.Equal(file[start:start+len(lines)], lines) {
		t.Fatalf("the live log shows lines that are not consecutive lines of the log:\n%s", strings.Join(lines, "\n"))
	}
}

// TestBrowserEventSource opens the page in headless Chromium, whose own
// EventSource streams the live events and the live log:
//
//   - events arrive, with ids that count up one by one;
//   - when every connection is dropped under the browser (through a proxy
//     between the two), EventSource reconnects by itself and resumes from
//     its Last-Event-ID: no event missing, none twice, no reset;
//   - when the demo restarts on the same port and data directory, the
//     page shows the shutdown event, reconnects, and shows the reset event
//     of the new demo's hub, whose ids the next events follow.
func TestBrowserEventSource(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-users", "10", "-event-interval", "100ms", "-log-interval", "50ms"}
	d := startDemo(t, dir, nil, args...)
	proxy := startDropProxy(t, hostPort(t, d.url))
	ctx := newBrowser(t)
	do(t, ctx, "opening the page", chromedp.Navigate(proxy.url()+"/"), chromedp.WaitVisible(chromedp.ID("events-output")))

	views := []string{"events", "live-log"}
	t.Run("events arrive", func(t *testing.T) {
		for _, prefix := range views {
			v := waitView(t, ctx, prefix, "open, with 10 events", func(v liveView) bool { return v.State == "open" && v.Received >= 10 })
			checkViewIDs(t, prefix, v)
			if last := v.Items[len(v.Items)-1]; v.LastID != last.ID {
				t.Errorf("%s: last event id shown %q, want %q", prefix, v.LastID, last.ID)
			}
		}
		if text := readView(t, ctx, "events").Items[0].Text; !strings.Contains(text, "tick ") {
			t.Errorf("events: first event shown as %q, want a tick", text)
		}
		checkLogRun(t, d, checkViewIDs(t, "live-log", readView(t, ctx, "live-log"))[0])
	})

	t.Run("dropped connections: resume", func(t *testing.T) {
		before := map[string]liveView{}
		for _, prefix := range views {
			before[prefix] = readView(t, ctx, prefix)
		}
		if n := proxy.dropAll(); n < len(views) {
			t.Fatalf("dropped %d connections, want at least the page's %d event streams", n, len(views))
		}
		for _, prefix := range views {
			b := before[prefix]
			v := waitView(t, ctx, prefix, "reconnected, with 10 more events", func(v liveView) bool {
				return v.State == "open" && v.Reconnects == b.Reconnects+1 && v.Received >= b.Received+10
			})
			if v.Resets != 0 {
				t.Errorf("%s: %d resets after dropped connections, want none: the hub still had the events", prefix, v.Resets)
			}
			runs := checkViewIDs(t, prefix, v)
			if len(runs) != 1 {
				t.Fatalf("%s: %d runs of events, want one across the reconnect", prefix, len(runs))
			}
			if prefix == "live-log" {
				checkLogRun(t, d, runs[0])
			}
		}
	})

	t.Run("disconnect, then connect: resume", func(t *testing.T) {
		do(t, ctx, "disconnecting", chromedp.Click(chromedp.ID("events-disconnect")))
		b := waitView(t, ctx, "events", "disconnected", func(v liveView) bool { return v.State == "stopped" })
		waitForMetric(t, d, `ginstream_active_streams{route="/events"}`, 0)
		time.Sleep(300 * time.Millisecond) // away long enough to miss ticks; not an assertion
		do(t, ctx, "connecting", chromedp.Click(chromedp.ID("events-connect")))
		v := waitView(t, ctx, "events", "open again, with 10 more events", func(v liveView) bool {
			return v.State == "open" && v.Received >= b.Received+10
		})
		if runs := checkViewIDs(t, "events", v); len(runs) != 1 || v.Resets != 0 {
			t.Fatalf("%d runs of events and %d resets, want one run across the disconnection", len(runs), v.Resets)
		}
		if url := evaluate[string](t, ctx, `document.getElementById("events-url").textContent`); !strings.Contains(url, "lastEventId="+b.LastID) {
			t.Errorf("the page connected to %q, want the last event id %s in lastEventId", url, b.LastID)
		}
	})

	t.Run("restart: shutdown, then reset", func(t *testing.T) {
		before := map[string]liveView{}
		for _, prefix := range views {
			before[prefix] = readView(t, ctx, prefix)
		}
		if err := d.stop(); err != nil {
			t.Fatal(err)
		}
		for _, prefix := range views {
			waitView(t, ctx, prefix, "the shutdown event shown", func(v liveView) bool {
				return slices.ContainsFunc(v.Items, func(it liveItem) bool { return it.Kind == "shutdown" })
			})
		}
		d = startDemo(t, dir, nil, append(args, "-addr", hostPort(t, d.url))...)
		for _, prefix := range views {
			b := before[prefix]
			v := waitView(t, ctx, prefix, "reset and open again, with 10 events since", func(v liveView) bool {
				reset := slices.IndexFunc(v.Items, func(it liveItem) bool { return it.Kind == "reset" })
				return v.State == "open" && v.Resets == 1 && reset >= 0 && len(v.Items)-reset > 10
			})
			runs := checkViewIDs(t, prefix, v)
			if len(runs) != 2 || len(runs[1]) < 10 {
				t.Fatalf("%s: %d runs of events, want two: before and after the reset; items %+v", prefix, len(runs), v.Items)
			}
			if v.Reconnects <= b.Reconnects {
				t.Errorf("%s: reconnects %d, want more than %d", prefix, v.Reconnects, b.Reconnects)
			}
			if prefix == "live-log" {
				checkLogRun(t, d, runs[1])
			}
		}
	})
}
