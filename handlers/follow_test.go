package handlers

// Specification of Follow and Tail: following a log file through a real
// gin server, as a client of /logs sees it. These tests are inside the
// package so that they can watch Follow's reads through a counting file
// system.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// followPatience bounds every wait of these tests, so that a broken
// follower fails the test instead of hanging it. It is a deadlock guard,
// not a performance claim.
const followPatience = 10 * time.Second

// tailPoll is the poll interval of the tests' followers, short to keep the
// tests fast.
const tailPoll = 5 * time.Millisecond

// watchedFS is the operating system's file system, counting what Follow
// does with it.
type watchedFS struct {
	read    atomic.Int64 // bytes read
	end     atomic.Int64 // the furthest offset read up to
	opened  atomic.Int64 // files opened
	closed  atomic.Int64 // files closed
	missing atomic.Int64 // Stat calls that found no file
}

func (c *watchedFS) Open(name string) (logFile, error) {
	f, err := osFS{}.Open(name)
	if err != nil {
		return nil, err
	}
	c.opened.Add(1)
	return &watchedFile{f, c}, nil
}

func (c *watchedFS) Stat(name string) (fs.FileInfo, error) {
	info, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		c.missing.Add(1)
	}
	return info, err
}

// watchedFile is a file of a watchedFS.
type watchedFile struct {
	logFile
	fs *watchedFS
}

func (f *watchedFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.logFile.ReadAt(p, off)
	f.fs.read.Add(int64(n))
	for end := f.fs.end.Load(); off+int64(n) > end && !f.fs.end.CompareAndSwap(end, off+int64(n)); {
		end = f.fs.end.Load()
	}
	return n, err
}

func (f *watchedFile) Close() error {
	f.fs.closed.Add(1)
	return f.logFile.Close()
}

// waitUntil waits until cond holds, failing the test after followPatience.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(followPatience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %v for %s", followPatience, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// tailServer serves tail at /logs over HTTP/1.1, or over HTTP/2 if http2
// is set, until the test ends. It returns a client for it, the URL of
// /logs and the channel of the streams' reports. The streams' logs are
// discarded unless tail has a Logger.
func tailServer(t *testing.T, tail Tail, http2 bool) (*http.Client, string, chan sink.Report) {
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

// lineStream is a client reading a streamed response line by line, in a
// goroutine that ends when the test does.
type lineStream struct {
	lines  chan string
	cancel context.CancelFunc
	done   chan struct{} // closed when the reading goroutine has ended
	proto  int           // the response's major protocol version
	err    error         // why reading ended; set before lines is closed
}

// openLines sends GET url and reads the response's lines until the test
// ends (or stream.close is called), which disconnects the client.
func openLines(t *testing.T, client *http.Client, url string) *lineStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &lineStream{lines: make(chan string, 1<<14), cancel: cancel, done: make(chan struct{})}
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
func (s *lineStream) close() {
	s.cancel()
	<-s.done
}

// next returns the next line, failing the test if none comes.
func (s *lineStream) next(t *testing.T) string {
	t.Helper()
	select {
	case line, ok := <-s.lines:
		if !ok {
			t.Fatalf("the stream ended: %v", s.err)
		}
		return line
	case <-time.After(followPatience):
		t.Fatalf("no line within %v", followPatience)
	}
	return ""
}

// until returns the lines received up to and including last.
func (s *lineStream) until(t *testing.T, last string) []string {
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
		case <-time.After(followPatience):
			t.Fatalf("no %q within %v; received %q", last, followPatience, got)
		}
	}
}

// want checks that the next lines are want, in order.
func (s *lineStream) want(t *testing.T, want ...string) {
	t.Helper()
	if len(want) == 0 {
		return
	}
	if got := s.until(t, want[len(want)-1]); !slices.Equal(got, want) {
		t.Fatalf("lines: got %q, want %q", got, want)
	}
}

// createLog creates or replaces the file at path with content.
func createLog(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
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

// rename renames a file, as a log rotation does.
func renameLog(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// numbered returns the lines "line 1" to "line n", each ending in "\n".
func logLines(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// lines splits text made of "\n"-terminated lines.
func splitLines(text string) []string {
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// TestFollowHistory: the stream starts with the file's last ?lines= complete
// lines (10 by default), exactly those, then goes on with what is
// appended; an incomplete last line waits for its end.
func TestFollowHistory(t *testing.T) {
	cases := []struct {
		name    string
		content string
		query   string
		maxLine int
		appends string   // appended once the stream is open
		want    []string // the lines received, ending with the last appended
	}{{
		name:    "the last 10 lines by default",
		content: logLines(1, 25),
		appends: "next\n",
		want:    append(splitLines(logLines(16, 25)), "next"),
	}, {
		name:    "lines=3",
		content: logLines(1, 25),
		query:   "?lines=3",
		appends: "next\n",
		want:    append(splitLines(logLines(23, 25)), "next"),
	}, {
		name:    "lines=0 starts with the next line written",
		content: logLines(1, 25),
		query:   "?lines=0",
		appends: "next\n",
		want:    []string{"next"},
	}, {
		name:    "more lines asked for than the file has",
		content: logLines(1, 5),
		query:   "?lines=10000",
		appends: "next\n",
		want:    append(splitLines(logLines(1, 5)), "next"),
	}, {
		name:    "an empty file",
		appends: "first\nsecond\n",
		want:    []string{"first", "second"},
	}, {
		name:    "an incomplete last line waits for its end",
		content: "a\nb\nc",
		query:   "?lines=2",
		appends: "-completed\nnext\n",
		want:    []string{"a", "b", "c-completed", "next"},
	}, {
		name:    "lines=0 with an incomplete last line",
		content: "a\nb\nc",
		query:   "?lines=0",
		appends: "-completed\n",
		want:    []string{"c-completed"},
	}, {
		name:    "empty lines are lines",
		content: "a\n\n\nb\n",
		query:   "?lines=3",
		appends: "\nnext\n",
		want:    []string{"", "", "b", "", "next"},
	}, {
		name:    "CRLF line endings",
		content: "a\r\nb\r\nc\r\n",
		query:   "?lines=2",
		appends: "next\r\n",
		want:    []string{"b", "c", "next"},
	}, {
		name:    "a line longer than MaxLine ends the history",
		content: "a\n" + strings.Repeat("x", 40) + "\nb\nc\n",
		query:   "?lines=10",
		maxLine: 16,
		appends: "next\n",
		want:    []string{"b", "c", "next"},
	}, {
		name:    "an incomplete last line longer than MaxLine is skipped",
		content: "a\nb\n" + strings.Repeat("x", 40),
		query:   "?lines=10",
		maxLine: 16,
		appends: "x\nnext\n",
		want:    []string{"next"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			createLog(t, path, tc.content)
			fsys := new(watchedFS)
			client, url, _ := tailServer(t, Tail{Path: path, MaxLine: tc.maxLine, PollInterval: tailPoll, fsys: fsys}, false)
			s := openLines(t, client, url+tc.query)
			// Append once the follower has read the file: what it
			// yields before the appended lines is the history.
			waitUntil(t, "the file to be read", func() bool { return fsys.end.Load() >= int64(len(tc.content)) })
			appendLog(t, path, tc.appends)
			s.want(t, tc.want...)
		})
	}
}

// TestFollowErrors: a bad ?lines= is answered 400 with a JSON error naming
// the parameter, a missing file 404 with what is missing and an unreadable
// one 500 with nothing but the status (the error, which names the path,
// is logged), each before any line is sent.
func TestFollowErrors(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	createLog(t, logPath, logLines(1, 3))
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
			client, url, reports := tailServer(t, Tail{Path: tc.path, PollInterval: tailPoll,
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
				case <-time.After(followPatience):
					t.Fatalf("no report within %v", followPatience)
				}
				return
			}
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("got %d %q; want %d with %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if tc.wantStatus == 400 {
				var pe ParamError
				if err := json.Unmarshal(body, &pe); err != nil || pe.Param != "lines" || pe.Min != 0 || pe.Max != MaxTailLines {
					t.Fatalf("400 body %q (%v): want a ParamError for lines from 0 to %d", body, err, MaxTailLines)
				}
			}
		})
	}
}

// TestFollowReadsOnlyTheTail: the history is found by reading backwards
// from the end, so following a 1 GiB file reads a few blocks of it, not
// the file; a line too long to look for its start ends the search.
func TestFollowReadsOnlyTheTail(t *testing.T) {
	const size = 1 << 30
	const readBound = 256 << 10
	cases := []struct {
		name  string
		query string
		want  []string
	}{
		{"the last 10 lines", "", splitLines(logLines(91, 100))},
		{"more lines than follow the long line", "?lines=1000", splitLines(logLines(1, 100))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A sparse 1 GiB line of zero bytes, then 100 lines.
			path := filepath.Join(t.TempDir(), "big.log")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(size); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("\n"+logLines(1, 100)), size); err != nil {
				t.Fatal(err)
			}
			f.Close()

			fsys := new(watchedFS)
			client, url, _ := tailServer(t, Tail{Path: path, PollInterval: tailPoll, fsys: fsys}, false)
			s := openLines(t, client, url+tc.query)
			s.want(t, tc.want...)
			appendLog(t, path, "next\n")
			s.want(t, "next")
			if n := fsys.read.Load(); n > readBound {
				t.Errorf("read %d bytes of a %d-byte file to follow it; want at most %d", n, size, readBound)
			}
		})
	}
}

// TestFollowAppends: lines appended to the file arrive in order, whether
// written one by one or many at once, and a line written in parts arrives
// whole once its end is written.
func TestFollowAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	createLog(t, path, "")
	fsys := new(watchedFS)
	client, url, _ := tailServer(t, Tail{Path: path, PollInterval: tailPoll, fsys: fsys}, false)
	s := openLines(t, client, url)

	for i := range 5 {
		line := "one by one " + strconv.Itoa(i)
		appendLog(t, path, line+"\n")
		s.want(t, line)
	}

	appendLog(t, path, logLines(1, 1000))
	s.want(t, splitLines(logLines(1, 1000))...)

	// Write the start of a line, and let the follower read it and look
	// for more a few times before the line is completed: it must not
	// send the start alone.
	size := func() int64 {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	appendLog(t, path, "a line written in ")
	waitUntil(t, "the follower to read the partial line", func() bool { return fsys.end.Load() >= size() })
	appendLog(t, path, "three ")
	waitUntil(t, "the follower to read more of it", func() bool { return fsys.end.Load() >= size() })
	appendLog(t, path, "parts\nnext\n")
	s.want(t, "a line written in three parts", "next")
}

// TestFollowRotation: the stream survives rotation (rename and recreate),
// deletion and truncation; every line written arrives once, in order.
func TestFollowRotation(t *testing.T) {
	cases := []struct {
		name string
		// act changes the file at path while it is followed, the
		// history "old 1", "old 2" having arrived.
		act  func(t *testing.T, path string, fsys *watchedFS)
		want []string
	}{{
		name: "renamed and recreated",
		act: func(t *testing.T, path string, _ *watchedFS) {
			appendLog(t, path, "old 3\n")
			renameLog(t, path, path+".1")
			appendLog(t, path, "new 1\nnew 2\n")
			appendLog(t, path, "new 3\n")
		},
		want: []string{"old 3", "new 1", "new 2", "new 3"},
	}, {
		name: "the old file written to after the rename",
		act: func(t *testing.T, path string, _ *watchedFS) {
			renameLog(t, path, path+".1")
			appendLog(t, path+".1", "late\n")
			appendLog(t, path, "new 1\n")
		},
		want: []string{"late", "new 1"},
	}, {
		name: "the old file ends without a line feed",
		act: func(t *testing.T, path string, _ *watchedFS) {
			appendLog(t, path, "old 3")
			renameLog(t, path, path+".1")
			appendLog(t, path, "new 1\n")
		},
		want: []string{"old 3", "new 1"},
	}, {
		name: "deleted, written to, created again",
		act: func(t *testing.T, path string, fsys *watchedFS) {
			// A logger still holds the file when it is deleted.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("after the deletion\n"); err != nil {
				t.Fatal(err)
			}
			// The follower finds no file at path, twice, and goes on.
			missing := fsys.missing.Load()
			waitUntil(t, "the follower to look for the deleted file", func() bool { return fsys.missing.Load() >= missing+2 })
			appendLog(t, path, "created again\n")
		},
		want: []string{"after the deletion", "created again"},
	}, {
		name: "truncated and written again",
		act: func(t *testing.T, path string, _ *watchedFS) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			appendLog(t, path, "short\n")
		},
		want: []string{"short"},
	}, {
		name: "overwritten from the start past the read position",
		act: func(t *testing.T, path string, _ *watchedFS) {
			// As if truncated and written again before the follower
			// looked: the size only grew.
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte("rewritten 1\nrewritten 2\n"), 0); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{"rewritten 1", "rewritten 2"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			createLog(t, path, "old 1\nold 2\n")
			fsys := new(watchedFS)
			client, url, _ := tailServer(t, Tail{Path: path, PollInterval: tailPoll, fsys: fsys}, false)
			s := openLines(t, client, url)
			s.want(t, "old 1", "old 2")
			tc.act(t, path, fsys)
			s.want(t, tc.want...)
			// And the stream goes on with the file now at path.
			appendLog(t, path, "after\n")
			s.want(t, "after")
			if open := fsys.opened.Load() - fsys.closed.Load(); open != 1 {
				t.Errorf("%d files open; want 1, the one at path", open)
			}
		})
	}
}

// TestFollowQuickRotations: two rotations between two looks at the file.
// The lines of the file followed and of the file at path in the end
// arrive, in order and once; those of the file in between, which was never
// opened, may be missed, but never arrive in part or out of order.
func TestFollowQuickRotations(t *testing.T) {
	for i := range 10 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			createLog(t, path, "old\n")
			client, url, _ := tailServer(t, Tail{Path: path, PollInterval: 20 * time.Millisecond}, false)
			s := openLines(t, client, url)
			s.want(t, "old")

			appendLog(t, path, "first 1\nfirst 2\n")
			renameLog(t, path, path+".1")
			appendLog(t, path, "second 1\nsecond 2\n")
			renameLog(t, path, path+".2")
			appendLog(t, path, "third 1\nthird 2\n")

			got := s.until(t, "third 2")
			all := []string{"first 1", "first 2", "second 1", "second 2", "third 1", "third 2"}
			without := slices.Concat(all[:2], all[4:])
			if !slices.Equal(got, all) && !slices.Equal(got, without) {
				t.Fatalf("lines: got %q, want %q or %q", got, all, without)
			}
		})
	}
}

// TestFollowLongLines: a line longer than MaxLine arrives cut to MaxLine
// bytes, never inside a UTF-8 character, with the number of bytes left
// out; the lines after it arrive whole.
func TestFollowLongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	createLog(t, path, "")
	client, url, _ := tailServer(t, Tail{Path: path, MaxLine: 16, PollInterval: tailPoll}, false)
	s := openLines(t, client, url)
	cases := []struct{ name, written, want string }{
		{"exactly MaxLine", strings.Repeat("a", 16), strings.Repeat("a", 16)},
		{"exactly MaxLine before CRLF", strings.Repeat("b", 16) + "\r", strings.Repeat("b", 16)},
		{"one byte over", strings.Repeat("c", 17), strings.Repeat("c", 16) + " [… 1 bytes cut]"},
		{"much longer", strings.Repeat("d", 100_000), strings.Repeat("d", 16) + " [… 99984 bytes cut]"},
		{"longer, before CRLF", strings.Repeat("e", 20) + "\r", strings.Repeat("e", 16) + " [… 4 bytes cut]"},
		{"a character across the cut", "a" + strings.Repeat("é", 9), "a" + strings.Repeat("é", 7) + " [… 4 bytes cut]"},
		{"a short line after long ones", "short", "short"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			appendLog(t, path, tc.written+"\n")
			if got := s.next(t); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFollowClientLeaves: when the client disconnects, the stream ends with
// outcome ClientGone and the follower returns with its file closed, over
// HTTP/1.1 and HTTP/2. (Goroutines left behind are caught by the
// package's TestMain.)
func TestFollowClientLeaves(t *testing.T) {
	for _, http2 := range []bool{false, true} {
		name := "HTTP1.1"
		if http2 {
			name = "HTTP2"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			createLog(t, path, logLines(1, 3))
			fsys := new(watchedFS)
			client, url, reports := tailServer(t, Tail{Path: path, PollInterval: tailPoll, fsys: fsys}, http2)
			s := openLines(t, client, url)
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
			case <-time.After(followPatience):
				t.Fatalf("the stream did not end within %v of the client leaving", followPatience)
			}
			// The report comes after the producer has returned.
			if opened, closed := fsys.opened.Load(), fsys.closed.Load(); opened != 1 || closed != 1 {
				t.Errorf("files opened %d, closed %d; want 1 and 1", opened, closed)
			}
		})
	}
}

// memFile is a logFile in memory, whose content a test can append to.
type memFile struct{ data []byte }

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) Close() error { return nil }

func (m *memFile) Stat() (fs.FileInfo, error) { return nil, errors.ErrUnsupported }

// referenceLine is what Follow yields for a line (without its "\n"),
// written plainly from the documented rule.
func referenceLine(line []byte, maxLine int) string {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) <= maxLine {
		return string(line)
	}
	k := maxLine
	for k > 0 && k > maxLine-3 && !utf8.RuneStart(line[k]) {
		k--
	}
	if !utf8.RuneStart(line[k]) {
		k = maxLine
	}
	return fmt.Sprintf("%s [… %d bytes cut]", line[:k], len(line)-k)
}

// referenceFollow is what Follow yields for a file holding data, asked for
// its last n lines, once more has been appended: the history (the last n
// complete lines, stopping at one longer than maxLine plus a '\r'; none if
// the incomplete last line is that long, which is then skipped), then the
// lines completed by the appended bytes.
func referenceFollow(data, more []byte, n, maxLine int) []string {
	longest := maxLine + 1
	complete := bytes.Split(data, []byte("\n"))
	partial := complete[len(complete)-1]
	complete = complete[:len(complete)-1]
	var out []string
	skip := len(partial) > longest
	if !skip {
		first := len(complete)
		for first > 0 && len(complete)-first < n && len(complete[first-1]) <= longest {
			first--
		}
		for _, line := range complete[first:] {
			out = append(out, referenceLine(line, maxLine))
		}
	}
	next := bytes.Split(append(slices.Clip(partial), more...), []byte("\n"))
	for i, line := range next[:len(next)-1] {
		if i == 0 && skip {
			continue
		}
		out = append(out, referenceLine(line, maxLine))
	}
	return out
}

// FuzzFollowLines: whatever the file's content, the read block size and
// the way appended bytes arrive, Follow's history and the lines it yields
// are those of the reference model: never a line twice, never part of a
// line, a line cut only as documented.
func FuzzFollowLines(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("d\ne"), uint8(2), uint8(16), uint8(4), uint8(1))
	f.Add([]byte("a\r\nb\r\nc"), []byte("\r\nd\r\n"), uint8(5), uint8(16), uint8(1), uint8(3))
	f.Add([]byte("short\n"+strings.Repeat("x", 40)+"\nb\n"), []byte("y\n"), uint8(7), uint8(8), uint8(5), uint8(2))
	f.Add([]byte("a\n"+strings.Repeat("é", 20)), []byte("\nnext\n"), uint8(3), uint8(9), uint8(7), uint8(4))
	f.Add([]byte(""), []byte("\n\n\nx\n"), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add([]byte(strings.Repeat("z", 100)), []byte("\r\n"), uint8(1), uint8(31), uint8(63), uint8(15))
	f.Fuzz(func(t *testing.T, data, more []byte, n, maxLine, block, chunk uint8) {
		lines, maxLen := int(n%8), 1+int(maxLine%32)
		file := &memFile{data: slices.Clone(data)}
		fl := &follower{
			maxLine: maxLen,
			file:    file,
			buf:     make([]byte, 1+int(block%64)),
			recent:  make([]byte, 0, recentLen),
			check:   make([]byte, recentLen),
		}
		var got []string
		yield := func(line string) error {
			got = append(got, line)
			return nil
		}
		start, skip, err := fl.historyStart(int64(len(data)), lines)
		if err != nil {
			t.Fatal(err)
		}
		fl.off, fl.skip = start, skip
		if err := fl.readNew(yield); err != nil {
			t.Fatal(err)
		}
		for rest, size := more, 1+int(chunk%16); len(rest) > 0; {
			k := min(size, len(rest))
			file.data = append(file.data, rest[:k]...)
			rest = rest[k:]
			if err := fl.readNew(yield); err != nil {
				t.Fatal(err)
			}
		}
		if want := referenceFollow(data, more, lines, maxLen); !slices.Equal(got, want) {
			t.Fatalf("file %q, then %q, last %d lines, MaxLine %d:\ngot  %q\nwant %q", data, more, lines, maxLen, got, want)
		}
	})
}

// Follow used directly, without a server: the last two lines of a log
// file, then a line appended to it. Breaking out of the loop stops the
// follower and closes the file.
func ExampleFollow() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "app.log")
	if err := os.WriteFile(path, []byte("starting\nlistening on :8080\nready\n"), 0o644); err != nil {
		panic(err)
	}

	s := generator.Start(context.Background(), generator.Options{}, Follow(path, FollowOptions{Lines: 2}))
	n := 0
	for line, err := range s.All() {
		if err != nil {
			panic(err)
		}
		fmt.Println(line)
		if n++; n == 2 {
			// A logger appends a line.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				panic(err)
			}
			f.WriteString("GET /stream/logs 200\n")
			f.Close()
		}
		if n == 3 {
			break
		}
	}
	// Output:
	// listening on :8080
	// ready
	// GET /stream/logs 200
}
