package generator

// Specification of Follow: following a log file as the producer's consumer
// sees it, with the producer driven directly (a yield that hands each line
// to the test, a context that stops it) or through a Group. These tests are
// inside the package so that they can watch Follow's reads and open files
// through a counting file system. Tail, Follow over HTTP, is specified in
// handlers.

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginstream/ginstream/internal/linestest"
)

// followPatience bounds every wait of these tests, so that a broken
// follower fails the test instead of hanging it. It is a deadlock guard,
// not a performance claim.
const followPatience = 10 * time.Second

// testPoll is the poll interval of the tests' followers, short to keep the
// tests fast.
const testPoll = 5 * time.Millisecond

// errStopped is the cause with which the tests stop a follower.
var errStopped = errors.New("stopped by the test")

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

// wantClosed checks that fsys opened one file and closed it.
func wantClosed(t *testing.T, fsys *watchedFS) {
	t.Helper()
	if opened, closed := fsys.opened.Load(), fsys.closed.Load(); opened != 1 || closed != 1 {
		t.Errorf("files opened %d, closed %d; want 1 and 1", opened, closed)
	}
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

// followed is a Follow producer running on a goroutine of its own, which
// hands each line it yields to the test.
type followed struct {
	*linestest.Lines
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the producer has returned
}

// startFollow runs Follow(path, opts) until the test ends or stop is
// called.
func startFollow(t *testing.T, path string, opts FollowOptions) *followed {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &followed{Lines: linestest.New(followPatience), cancel: cancel, done: make(chan struct{})}
	yield := func(line string) error {
		select {
		case s.C <- line:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	go func() {
		defer close(s.done)
		defer close(s.C)
		s.Err = Follow(path, opts)(ctx, yield)
	}()
	t.Cleanup(func() { s.stop() })
	return s
}

// stop cancels the producer with errStopped, waits until it has returned
// and returns what it returned.
func (s *followed) stop() error {
	s.cancel(errStopped)
	<-s.done
	return s.Err
}

// createLog creates or replaces the file at path with content.
func createLog(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// renameLog renames a file, as a log rotation does.
func renameLog(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// TestFollowHistory: Follow starts with the file's last opts.Lines complete
// lines, exactly those, then goes on with what is appended; an incomplete
// last line waits for its end.
func TestFollowHistory(t *testing.T) {
	cases := []struct {
		name    string
		content string
		lines   int
		maxLine int
		appends string   // appended once the file has been read
		want    []string // the lines yielded, ending with the last appended
	}{{
		name:    "the last 10 lines",
		content: linestest.Numbered(1, 25),
		lines:   10,
		appends: "next\n",
		want:    append(linestest.Split(linestest.Numbered(16, 25)), "next"),
	}, {
		name:    "the last 3 lines",
		content: linestest.Numbered(1, 25),
		lines:   3,
		appends: "next\n",
		want:    append(linestest.Split(linestest.Numbered(23, 25)), "next"),
	}, {
		name:    "no lines starts with the next line written",
		content: linestest.Numbered(1, 25),
		appends: "next\n",
		want:    []string{"next"},
	}, {
		name:    "negative lines are none",
		content: linestest.Numbered(1, 25),
		lines:   -1,
		appends: "next\n",
		want:    []string{"next"},
	}, {
		name:    "more lines asked for than the file has",
		content: linestest.Numbered(1, 5),
		lines:   10000,
		appends: "next\n",
		want:    append(linestest.Split(linestest.Numbered(1, 5)), "next"),
	}, {
		name:    "an empty file",
		lines:   10,
		appends: "first\nsecond\n",
		want:    []string{"first", "second"},
	}, {
		name:    "an incomplete last line waits for its end",
		content: "a\nb\nc",
		lines:   2,
		appends: "-completed\nnext\n",
		want:    []string{"a", "b", "c-completed", "next"},
	}, {
		name:    "no lines, with an incomplete last line",
		content: "a\nb\nc",
		appends: "-completed\n",
		want:    []string{"c-completed"},
	}, {
		name:    "empty lines are lines",
		content: "a\n\n\nb\n",
		lines:   3,
		appends: "\nnext\n",
		want:    []string{"", "", "b", "", "next"},
	}, {
		name:    "CRLF line endings",
		content: "a\r\nb\r\nc\r\n",
		lines:   2,
		appends: "next\r\n",
		want:    []string{"b", "c", "next"},
	}, {
		name:    "a line longer than MaxLine ends the history",
		content: "a\n" + strings.Repeat("x", 40) + "\nb\nc\n",
		lines:   10,
		maxLine: 16,
		appends: "next\n",
		want:    []string{"b", "c", "next"},
	}, {
		name:    "an incomplete last line longer than MaxLine is skipped",
		content: "a\nb\n" + strings.Repeat("x", 40),
		lines:   10,
		maxLine: 16,
		appends: "x\nnext\n",
		want:    []string{"next"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			createLog(t, path, tc.content)
			fsys := new(watchedFS)
			s := startFollow(t, path, FollowOptions{Lines: tc.lines, MaxLine: tc.maxLine, PollInterval: testPoll, fsys: fsys})
			// Append once the follower has read the file: what it
			// yields before the appended lines is the history.
			waitUntil(t, "the file to be read", func() bool { return fsys.end.Load() >= int64(len(tc.content)) })
			linestest.AppendFile(t, path, tc.appends)
			s.Want(t, tc.want...)
		})
	}
}

// TestFollowErrors: a file missing when Follow starts is an error matching
// fs.ErrNotExist, and one that cannot be read (a directory) an error
// naming the path; either comes before any line, and leaves no file open.
func TestFollowErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name     string
		path     string
		notExist bool   // the error matches fs.ErrNotExist
		want     string // a part of the error's text
		opened   int64  // files opened (and closed)
	}{
		{"missing file", filepath.Join(dir, "missing.log"), true, "no such file", 0},
		{"a directory", dir, false, "is a directory", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := new(watchedFS)
			var got []string
			err := Follow(tc.path, FollowOptions{Lines: 10, PollInterval: testPoll, fsys: fsys})(t.Context(), func(line string) error {
				got = append(got, line)
				return nil
			})
			if err == nil || errors.Is(err, fs.ErrNotExist) != tc.notExist ||
				!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %v; want one naming %s with %q (matching fs.ErrNotExist: %t)", err, tc.path, tc.want, tc.notExist)
			}
			if len(got) != 0 {
				t.Errorf("yielded %q before the error", got)
			}
			if opened, closed := fsys.opened.Load(), fsys.closed.Load(); opened != tc.opened || closed != opened {
				t.Errorf("files opened %d, closed %d; want %d and %d", opened, closed, tc.opened, tc.opened)
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
		lines int
		want  []string
	}{
		{"the last 10 lines", 10, linestest.Split(linestest.Numbered(91, 100))},
		{"more lines than follow the long line", 1000, linestest.Split(linestest.Numbered(1, 100))},
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
			if _, err := f.WriteAt([]byte("\n"+linestest.Numbered(1, 100)), size); err != nil {
				t.Fatal(err)
			}
			f.Close()

			fsys := new(watchedFS)
			s := startFollow(t, path, FollowOptions{Lines: tc.lines, PollInterval: testPoll, fsys: fsys})
			s.Want(t, tc.want...)
			linestest.AppendFile(t, path, "next\n")
			s.Want(t, "next")
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
	// Lines: lines appended before Follow has opened the file are
	// history, and arrive too.
	s := startFollow(t, path, FollowOptions{Lines: 10, PollInterval: testPoll, fsys: fsys})

	for i := range 5 {
		line := "one by one " + strconv.Itoa(i)
		linestest.AppendFile(t, path, line+"\n")
		s.Want(t, line)
	}

	linestest.AppendFile(t, path, linestest.Numbered(1, 1000))
	s.Want(t, linestest.Split(linestest.Numbered(1, 1000))...)

	// Write the start of a line, and let the follower read it and look
	// for more a few times before the line is completed: it must not
	// yield the start alone.
	size := func() int64 {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	linestest.AppendFile(t, path, "a line written in ")
	waitUntil(t, "the follower to read the partial line", func() bool { return fsys.end.Load() >= size() })
	linestest.AppendFile(t, path, "three ")
	waitUntil(t, "the follower to read more of it", func() bool { return fsys.end.Load() >= size() })
	linestest.AppendFile(t, path, "parts\nnext\n")
	s.Want(t, "a line written in three parts", "next")
}

// TestFollowRotation: following survives rotation (rename and recreate),
// deletion and truncation; every line written arrives once, in order, and
// only the file at path is left open.
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
			linestest.AppendFile(t, path, "old 3\n")
			renameLog(t, path, path+".1")
			linestest.AppendFile(t, path, "new 1\nnew 2\n")
			linestest.AppendFile(t, path, "new 3\n")
		},
		want: []string{"old 3", "new 1", "new 2", "new 3"},
	}, {
		name: "the old file written to after the rename",
		act: func(t *testing.T, path string, _ *watchedFS) {
			renameLog(t, path, path+".1")
			linestest.AppendFile(t, path+".1", "late\n")
			linestest.AppendFile(t, path, "new 1\n")
		},
		want: []string{"late", "new 1"},
	}, {
		name: "the old file ends without a line feed",
		act: func(t *testing.T, path string, _ *watchedFS) {
			linestest.AppendFile(t, path, "old 3")
			renameLog(t, path, path+".1")
			linestest.AppendFile(t, path, "new 1\n")
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
			linestest.AppendFile(t, path, "created again\n")
		},
		want: []string{"after the deletion", "created again"},
	}, {
		name: "truncated and written again",
		act: func(t *testing.T, path string, _ *watchedFS) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			linestest.AppendFile(t, path, "short\n")
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
			s := startFollow(t, path, FollowOptions{Lines: 10, PollInterval: testPoll, fsys: fsys})
			s.Want(t, "old 1", "old 2")
			tc.act(t, path, fsys)
			s.Want(t, tc.want...)
			// And following goes on with the file now at path.
			linestest.AppendFile(t, path, "after\n")
			s.Want(t, "after")
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
			s := startFollow(t, path, FollowOptions{Lines: 10, PollInterval: 20 * time.Millisecond})
			s.Want(t, "old")

			linestest.AppendFile(t, path, "first 1\nfirst 2\n")
			renameLog(t, path, path+".1")
			linestest.AppendFile(t, path, "second 1\nsecond 2\n")
			renameLog(t, path, path+".2")
			linestest.AppendFile(t, path, "third 1\nthird 2\n")

			got := s.Until(t, "third 2")
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
	s := startFollow(t, path, FollowOptions{Lines: 10, MaxLine: 16, PollInterval: testPoll})
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
			linestest.AppendFile(t, path, tc.written+"\n")
			if got := s.Next(t); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFollowStops: Follow returns when its context ends, with the
// context's cause, when yield returns an error, with that error, and when
// the Group running it is closed (as a sink does once its client has
// left), a stop that Close does not report as a failure. Each time the
// file followed is closed by the time it has returned.
func TestFollowStops(t *testing.T) {
	t.Run("its context ends", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "app.log")
		createLog(t, path, linestest.Numbered(1, 3))
		fsys := new(watchedFS)
		s := startFollow(t, path, FollowOptions{Lines: 3, PollInterval: testPoll, fsys: fsys})
		s.Want(t, linestest.Split(linestest.Numbered(1, 3))...)
		if err := s.stop(); !errors.Is(err, errStopped) {
			t.Errorf("Follow returned %v; want the context's cause, %v", err, errStopped)
		}
		wantClosed(t, fsys)
	})

	t.Run("yield returns an error", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "app.log")
		createLog(t, path, linestest.Numbered(1, 3))
		fsys := new(watchedFS)
		errGone := errors.New("consumer gone")
		var got []string
		err := Follow(path, FollowOptions{Lines: 3, PollInterval: testPoll, fsys: fsys})(t.Context(), func(line string) error {
			got = append(got, line)
			if len(got) == 2 {
				return errGone
			}
			return nil
		})
		if !errors.Is(err, errGone) || !slices.Equal(got, linestest.Split(linestest.Numbered(1, 2))) {
			t.Errorf("Follow yielded %q and returned %v; want lines 1 and 2, then %v", got, err, errGone)
		}
		wantClosed(t, fsys)
	})

	t.Run("its Group is closed", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "app.log")
		createLog(t, path, linestest.Numbered(1, 3))
		fsys := new(watchedFS)
		g := Start(context.Background(), Options{}, Follow(path, FollowOptions{Lines: 3, PollInterval: testPoll, fsys: fsys}))
		defer g.Close()
		var got, batch []string
		timeout := time.NewTimer(followPatience)
		defer timeout.Stop()
		for len(got) < 3 {
			var err error
			batch, err = g.NextUntil(batch, timeout.C)
			if err != nil {
				t.Fatalf("Next after %q: %v", got, err)
			}
			if len(batch) == 0 {
				t.Fatalf("no line within %v; received %q", followPatience, got)
			}
			got = append(got, batch...)
		}
		if want := linestest.Split(linestest.Numbered(1, 3)); !slices.Equal(got, want) {
			t.Fatalf("lines: got %q, want %q", got, want)
		}
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v; want nil, Follow having stopped because of it", err)
		}
		wantClosed(t, fsys)
	})
}
