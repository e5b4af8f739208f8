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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/linestest"
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
	*linestest.Lines
	cancel context.CancelFunc
	done   chan struct{} // closed when the reading goroutine has ended
	proto  int           // the response's major protocol version
}

// openTail sends GET url and reads the response's lines until the test
// ends (or stream.close is called), which disconnects the client.
func openTail(t *testing.T, client *http.Client, url string) *tailStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &tailStream{Lines: linestest.New(tailPatience), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.C)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			s.Err = err
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			s.Err = err
			return
		}
		defer resp.Body.Close()
		s.proto = resp.ProtoMajor
		if resp.StatusCode != http.StatusOK {
			s.Err = fmt.Errorf("status %s", resp.Status)
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			select {
			case s.C <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		s.Err = sc.Err()
		if s.Err == nil {
			s.Err = io.EOF
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
		content: linestest.Numbered(1, 25),
		history: linestest.Split(linestest.Numbered(16, 25)),
		appends: "next\n",
		want:    "next",
	}, {
		name:    "lines=3",
		content: linestest.Numbered(1, 25),
		query:   "?lines=3",
		history: linestest.Split(linestest.Numbered(23, 25)),
		appends: "next\n",
		want:    "next",
	}, {
		name:    "lines=MaxTailLines, more than the file has",
		content: linestest.Numbered(1, 5),
		query:   fmt.Sprintf("?lines=%d", handlers.MaxTailLines),
		history: linestest.Split(linestest.Numbered(1, 5)),
		appends: "next\n",
		want:    "next",
	}, {
		name:    "lines=0 starts with the next line written",
		content: linestest.Numbered(1, 25),
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
			linestest.AppendFile(t, path, tc.content)
			client, url, _ := tailServer(t, handlers.Tail{Path: path, MaxLine: tc.maxLine, PollInterval: tailPoll}, false)
			s := openTail(t, client, url+tc.query)
			s.Want(t, tc.history...)
			// With no history, nothing tells when the follower has
			// opened the file, and a line written before that is not
			// sent: write until one arrives. The first line received
			// must be one of those.
			deadline := time.After(tailPatience)
			for {
				linestest.AppendFile(t, path, tc.appends)
				if len(tc.history) > 0 {
					s.Want(t, tc.want)
					return
				}
				select {
				case line, ok := <-s.C:
					if !ok {
						t.Fatalf("the stream ended: %v", s.Err)
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
	linestest.AppendFile(t, logPath, linestest.Numbered(1, 3))
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
			linestest.AppendFile(t, path, linestest.Numbered(1, 3))
			client, url, reports := tailServer(t, handlers.Tail{Path: path, PollInterval: tailPoll}, http2)
			s := openTail(t, client, url)
			s.Want(t, linestest.Split(linestest.Numbered(1, 3))...)
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
