package handlers_test

// Specification of Tail: a log file followed through a real gin server, as
// a client of /logs sees it. Following itself (first lines, partial and
// long lines, rotation, truncation, deletion, bounded reads, the file
// closed) is generator.Follow's, specified in package generator.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/sink"
)

// tailPatience bounds every wait of these tests, so that a broken handler
// fails the test instead of hanging it. It is a deadlock guard, not a
// performance claim.
const tailPatience = 10 * time.Second

// tailPoll is the poll interval of the tests' handlers, short to keep the
// tests fast.
const tailPoll = 5 * time.Millisecond

// tailServer serves tail at /logs over HTTP/1.1, or over HTTP/2 if http2
// is set, until the test ends. It returns a client for it, the URL of
// /logs and the channel of the streams' reports. The streams' logs are
// discarded unless tail has a Logger.
func tailServer(t *testing.T, tail handlers.Tail, http2 bool) (*http.Client, string, chan sink.Report) {
	t.Helper()
	reports := make(chan sink.Report, 8)
	tail.OnReport = func(_ *gin.Context, r sink.Report) { reports <- r }
	if tail.Logger == nil {
		tail.Logger = slog.New(slog.DiscardHandler)
	}
	r := gin.New()
	r.GET("/logs", tail.Handler())
	srv := httptest.NewUnstartedServer(r)
	if http2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv.Client(), srv.URL + "/logs", reports
}

// tailStream is a client reading a streamed response line by line, in a
// goroutine that ends when the test does.
type tailStream struct {
	lines  chan string
	cancel context.CancelFunc
	done   chan struct{} // closed when the reading goroutine has ended
	proto  int           // the response's major protocol version
	err    error         // why reading ended; set before lines is closed
}

// openTail sends GET url and reads the response's lines until the test
// ends (or stream.close is called), which disconnects the client.
func openTail(t *testing.T, client *http.Client, url string) *tailStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &tailStream{lines: make(chan string, 1<<14), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.lines)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			s.err = err
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			s.err = err
			return
		}
		defer resp.Body.Close()
		s.proto = resp.ProtoMajor
		if resp.StatusCode != http.StatusOK {
			s.err = fmt.Errorf("status %s", resp.Status)
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		s.err = sc.Err()
		if s.err == nil {
			s.err = io.EOF
		}
	}()
	t.Cleanup(s.close)
	return s
}

// close disconnects the client and waits for its goroutine.
func (s *tailStream) close() {
	s.cancel()
	<-s.done
}

// until returns the lines received up to and including last.
func (s *tailStream) until(t *testing.T, last string) []string {
	t.Helper()
	var got []string
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("the stream ended (%v) before %q; received %q", s.err, last, got)
			}
			got = append(got, line)
			if line == last {
				return got
			}
		case <-time.After(tailPatience):
			t.Fatalf("no %q within %v; received %q", last, tailPatience, got)
		}
	}
}

// want checks that the next lines are want, in order.
func (s *tailStream) want(t *testing.T, want ...string) {
	t.Helper()
	if len(want) == 0 {
		return
	}
	if got := s.until(t, want[len(want)-1]); !slices.Equal(got, want) {
		t.Fatalf("lines: got %q, want %q", got, want)
	}
}

// appendLog appends s to the file at path, creating it if needed, as a
// logger opening it in append mode does.
func appendLog(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// logLines returns the lines "line from" to "line to", each ending in "\n".
func logLines(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// splitLines splits text made of "\n"-terminated lines.
func splitLines(text string) []string {
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// TestTailLines: the stream starts with the file's last ?lines= complete
// lines (DefaultTailLines by default), then goes on with the lines
// appended, cut at the Tail's MaxLine.
func TestTailLines(t *testing.T) {
	cases := []struct {
		name    string
		content string
		query   string
		maxLine int
		history []string // the lines received first
		appends string   // appended once they have arrived
		want    string   // the line that then arrives
	}{{
		name:    "the last 10 lines by default",
		content: logLines(1, 25),
		history: splitLines(logLines(16, 25)),
		appends: "next\n",
		want:    "next",
	}, {
		name:    "lines=3",
		content: logLines(1, 25),
		query:   "?lines=3",
		history: splitLines(logLines(23, 25)),
		appends: "next\n",
		want:    "next",
	}, {
		name:    "lines=MaxTailLines, more than the file has",
		content: logLines(1, 5),
		query:   fmt.Sprintf("?lines=%d", handlers.MaxTailLines),
		history: splitLines(logLines(1, 5)),
		appends: "next\n",
		want:    "next",
	}, {
		name:    "lines=0 starts with the next line written",
		content: logLines(1, 25),
		query:   "?lines=0",
		appends: "next\n",
		want:    "next",
	}, {
		name:    "MaxLine cuts a long line",
		content: "a\nb\n",
		query:   "?lines=1",
		maxLine: 16,
		history: []string{"b"},
		appends: strings.Repeat("x", 20) + "\n",
		want:    strings.Repeat("x", 16) + " [… 4 bytes cut]",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			appendLog(t, path, tc.content)
			client, url, _ := tailServer(t, handlers.Tail{Path: path, MaxLine: tc.maxLine, PollInterval: tailPoll}, false)
			s := openTail(t, client, url+tc.query)
			s.want(t, tc.history...)
			// With no history, nothing tells when the follower has
			// opened the file, and a line written before that is not
			// sent: write until one arrives. The first line received
			// must be one of those.
			deadline := time.After(tailPatience)
			for {
				appendLog(t, path, tc.appends)
				if len(tc.history) > 0 {
					s.want(t, tc.want)
					return
				}
				select {
				case line, ok := <-s.lines:
					if !ok {
						t.Fatalf("the stream ended: %v", s.err)
					}
					if line != tc.want {
						t.Fatalf("first line %q; want %q", line, tc.want)
					}
					return
				case <-time.After(10 * tailPoll):
				case <-deadline:
					t.Fatalf("no line within %v", tailPatience)
				}
			}
		})
	}
}

// TestTailErrors: a bad ?lines= is answered 400 with a JSON error naming
// the parameter, a missing file 404 with what is missing and an unreadable
// one 500 with nothing but the status (the error, which names the path,
// is logged), each before any line is sent.
func TestTailErrors(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	appendLog(t, logPath, logLines(1, 3))
	cases := []struct {
		name       string
		path       string
		query      string
		wantStatus int
		wantBody   string // a part of the body; for a 5xx, the error logged instead
	}{
		{"negative lines", logPath, "?lines=-1", 400, `"parameter":"lines"`},
		{"too many lines", logPath, "?lines=10001", 400, `"max":10000`},
		{"lines not a number", logPath, "?lines=ten", 400, `"value":"ten"`},
		{"missing file", filepath.Join(dir, "missing.log"), "", 404, "no such file"},
		{"a directory", dir, "", 500, "is a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Written before the stream is reported, so read after the
			// report without a race.
			var log bytes.Buffer
			client, url, reports := tailServer(t, handlers.Tail{Path: tc.path, PollInterval: tailPoll,
				Config: sink.Config{Logger: slog.New(slog.NewTextHandler(&log, nil))}}, false)
			resp, err := client.Get(url + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantStatus >= 500 {
				want := fmt.Sprintf("%d %s\n", tc.wantStatus, http.StatusText(tc.wantStatus))
				if resp.StatusCode != tc.wantStatus || string(body) != want {
					t.Fatalf("got %d %q; want %d %q", resp.StatusCode, body, tc.wantStatus, want)
				}
				select {
				case r := <-reports:
					if r.Outcome != sink.Failed || !strings.Contains(log.String(), tc.wantBody) {
						t.Errorf("report %v, log %q; want failed, and %q logged", r.Outcome, log.String(), tc.wantBody)
					}
				case <-time.After(tailPatience):
					t.Fatalf("no report within %v", tailPatience)
				}
				return
			}
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("got %d %q; want %d with %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if tc.wantStatus == 400 {
				var pe handlers.ParamError
				if err := json.Unmarshal(body, &pe); err != nil || pe.Param != "lines" || pe.Min != 0 || pe.Max != handlers.MaxTailLines {
					t.Fatalf("400 body %q (%v): want a ParamError for lines from 0 to %d", body, err, handlers.MaxTailLines)
				}
			}
		})
	}
}

// TestTailClientLeaves: when the client disconnects, the stream ends with
// outcome ClientGone, over HTTP/1.1 and HTTP/2. The report comes after
// the follower has returned, which closes its file (TestFollowStops in
// package generator); goroutines left behind are caught by the package's
// TestMain.
func TestTailClientLeaves(t *testing.T) {
	for _, http2 := range []bool{false, true} {
		name := "HTTP1.1"
		if http2 {
			name = "HTTP2"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			appendLog(t, path, logLines(1, 3))
			client, url, reports := tailServer(t, handlers.Tail{Path: path, PollInterval: tailPoll}, http2)
			s := openTail(t, client, url)
			s.want(t, splitLines(logLines(1, 3))...)
			want := 1
			if http2 {
				want = 2
			}
			if s.proto != want {
				t.Fatalf("response over HTTP/%d, want HTTP/%d", s.proto, want)
			}
			s.close()
			select {
			case r := <-reports:
				if r.Outcome != sink.ClientGone || r.Items != 3 {
					t.Errorf("report: outcome %v after %d items; want %v after 3", r.Outcome, r.Items, sink.ClientGone)
				}
			case <-time.After(tailPatience):
				t.Fatalf("the stream did not end within %v of the client leaving", tailPatience)
			}
		})
	}
}
