package fanout

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRead checks the subscribers' parsing of an event stream and what it
// counts: events of the window (by the publication time their data starts
// with), ids skipped or repeated, named events, the first event after the
// window; comments and fields it does not know are ignored, and CRLF line
// endings work as LF.
func TestRead(t *testing.T) {
	// The window is [1000, 2000) in nanoseconds since 1970.
	const start, end = 1000, 2000
	tests := []struct {
		name   string
		stream string
		want   Seen
		noted  int // errors noted
	}{
		{
			name:   "in order",
			stream: "id: 1\ndata: 1000 pad\n\n: heartbeat\nid: 2\ndata: 1500\n\n",
			want:   Seen{Events: 2, FirstID: 1, LastWinID: 2, LastID: 2},
		},
		{
			name:   "before, in and after the window",
			stream: "id: 7\ndata: 999\n\nid: 8\ndata: 1999\n\nid: 9\ndata: 2000\n\nid: 10\ndata: 2500\n\n",
			want:   Seen{Events: 1, FirstID: 8, LastWinID: 8, LastID: 10, SawAfterWin: true},
		},
		{
			name:   "CRLF",
			stream: "id: 1\r\ndata: 1000\r\n\r\nid: 2\r\ndata: 1001\r\n\r\n",
			want:   Seen{Events: 2, FirstID: 1, LastWinID: 2, LastID: 2},
		},
		{
			name:   "gaps",
			stream: "id: 1\ndata: 1000\n\nid: 4\ndata: 1001\n\nid: 6\ndata: 1002\n\n",
			want:   Seen{Events: 3, FirstID: 1, LastWinID: 6, LastID: 6, Gaps: 3},
		},
		{
			name:   "repeated and backwards",
			stream: "id: 5\ndata: 1000\n\nid: 5\ndata: 1000\n\nid: 3\ndata: 1001\n\n",
			want:   Seen{Events: 3, FirstID: 5, LastWinID: 3, LastID: 3, Disordered: 2},
		},
		{
			name:   "named events",
			stream: "id: 9\nevent: reset\ndata: too-old\n\nevent: shutdown\nretry: 3000\ndata: bye\n\n",
			want:   Seen{LastID: 9, Unexpected: 2},
			noted:  2,
		},
		{
			name:   "no data, no event",
			stream: "retry: 3000\n\nid: 3\n\n:comment\n\n",
			want:   Seen{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New("", "/", 1, 64)
			c.Load.start.Store(start)
			c.Load.end.Store(end)
			var s Subscriber
			err := s.read(bufio.NewReader(strings.NewReader(tt.stream)), c, false)
			if err != io.EOF {
				t.Errorf("read = %v, want io.EOF", err)
			}
			if s.Seen != tt.want {
				t.Errorf("got  %+v\nwant %+v", s.Seen, tt.want)
			}
			if got := c.Load.Latency.Count(); got != s.Events {
				t.Errorf("%d latencies recorded for %d events", got, s.Events)
			}
			if got, want := c.Load.Finished.Load(), int64(0); s.SawAfterWin {
				if got != 1 {
					t.Errorf("finished = %d, want 1", got)
				}
			} else if got != want {
				t.Errorf("finished = %d, want 0", got)
			}
			if errs := c.Errors(); len(errs) != tt.noted {
				t.Errorf("noted %q, want %d errors", errs, tt.noted)
			}
		})
	}
}

// TestReadLatency checks that a delivery's latency is the time from its
// publication to its reading.
func TestReadLatency(t *testing.T) {
	c := New("", "/", 1, 64)
	published := time.Now().Add(-50 * time.Millisecond).UnixNano()
	c.Load.start.Store(published)
	c.Load.end.Store(published + 1)
	var s Subscriber
	stream := "id: 1\ndata: " + strconv.FormatInt(published, 10) + "\n\n"
	_ = s.read(bufio.NewReader(strings.NewReader(stream)), c, false)
	upper := time.Since(time.Unix(0, published))
	if got := c.Load.Latency.Max(); got < 50*time.Millisecond || got > upper {
		t.Fatalf("latency %v, want from 50ms to %v", got, upper)
	}
}

// TestReadStall checks the Stall window's counts: the events due in it
// that subscribers other than the stalled one receive, and which of them
// received an event due after it; the stalled subscriber counts in
// neither.
func TestReadStall(t *testing.T) {
	const stream = "id: 1\ndata: 1000\n\nid: 2\ndata: 1500\n\nid: 3\ndata: 2000\n\n"
	c := New("", "/", 2, 64)
	c.Stall.start.Store(1000)
	c.Stall.end.Store(2000)
	for i, stalled := range []bool{false, true} {
		s := &c.Subs[i]
		s.stalledOne = stalled
		_ = s.read(bufio.NewReader(strings.NewReader(stream)), c, false)
	}
	if got := c.Stall.Deliveries.Load(); got != 2 {
		t.Errorf("stall deliveries = %d, want 2 (the healthy subscriber's)", got)
	}
	if got := c.Stall.Finished.Load(); got != 1 {
		t.Errorf("stall finished = %d, want 1", got)
	}
	if got := c.Stall.Latency.Count(); got != 2 {
		t.Errorf("stall latencies = %d, want 2", got)
	}
}

// TestReadBeforeWindows checks that events that arrive before the windows
// are set count in neither, nor as after them.
func TestReadBeforeWindows(t *testing.T) {
	c := New("", "/", 1, 64)
	_ = c.Subs[0].read(bufio.NewReader(strings.NewReader("id: 1\ndata: 1000\n\n")), c, false)
	for name, w := range map[string]*Window{"load": c.Load, "stall": c.Stall} {
		if d, f := w.Deliveries.Load(), w.Finished.Load(); d != 0 || f != 0 {
			t.Errorf("%s: %d deliveries, %d finished before the window was set, want 0 and 0", name, d, f)
		}
	}
}
