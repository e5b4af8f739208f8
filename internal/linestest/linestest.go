// Package linestest lets a test read lines that arrive from a goroutine of
// their own — a followed file, a streamed response — and check them as
// they come, waiting for each no longer than a patience.
//
// The goroutine that produces the lines sends them on Lines.C, sets
// Lines.Err to why they ended and then closes C; the test reads them with
// Next, Until and Want, which fail it when the lines end or none comes in
// time.
package linestest

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Lines are lines as they arrive, and why they ended.
type Lines struct {
	C        chan string   // the lines; closed when they end
	Err      error         // why they ended; set before C is closed
	Patience time.Duration // the longest Next, Until and Want wait for a line
}

// New returns Lines whose channel holds up to 16,384 lines that the test
// has not read yet.
func New(patience time.Duration) *Lines {
	return &Lines{C: make(chan string, 1<<14), Patience: patience}
}

// Next returns the next line.
func (l *Lines) Next(t testing.TB) string {
	t.Helper()
	select {
	case line, ok := <-l.C:
		if !ok {
			t.Fatalf("the lines ended: %v", l.Err)
		}
		return line
	case <-time.After(l.Patience):
		t.Fatalf("no line within %v", l.Patience)
	}
	return ""
}

// Until returns the lines received up to and including last.
func (l *Lines) Until(t testing.TB, last string) []string {
	t.Helper()
	var got []string
	for {
		select {
		case line, ok := <-l.C:
			if !ok {
				t.Fatalf("the lines ended (%v) before %q; received %q", l.Err, last, got)
			}
			got = append(got, line)
			if line == last {
				return got
			}
		case <-time.After(l.Patience):
			t.Fatalf("no %q within %v; received %q", last, l.Patience, got)
		}
	}
}

// Want checks that the next lines are want, in order.
func (l *Lines) Want(t testing.TB, want ...string) {
	t.Helper()
	if len(want) == 0 {
		return
	}
	if got := l.Until(t, want[len(want)-1]); !slices.Equal(got, want) {
		t.Fatalf("lines: got %q, want %q", got, want)
	}
}

// AppendFile appends s to the file at path, creating it if needed, as a
// logger opening it in append mode does.
func AppendFile(t testing.TB, path, s string) {
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

// Numbered returns the lines "line from" to "line to", each ending in
// "\n", as a log that a test writes.
func Numbered(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

// Split splits text made of "\n"-terminated lines into the lines.
func Split(text string) []string {
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}
