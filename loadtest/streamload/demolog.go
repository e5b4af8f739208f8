package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// demoLog is what the demo logged on its stdout (log/slog's text format),
// parsed as it arrives: lines by level, and the streams that the sink
// logged as ended early, with their outcome and duration. It is safe for
// concurrent use.
type demoLog struct {
	file string // the demo log the demo appends to (data/demo.log), for /stream/logs

	mu     sync.Mutex
	levels map[string]int // lines by level
	errors []string       // the first lines at level ERROR
	warns  []string       // the first lines at level WARN that are not streams ending
	ended  []endedEarly   // streams the sink logged as ended early
	last   []string       // the last lines, for diagnostics
}

// endedEarly is a stream that the sink logged as not completed.
type endedEarly struct {
	path     string
	outcome  string
	duration time.Duration
}

// Bounds on what demoLog keeps.
const (
	keptLines = 5  // error and warning lines
	tailLines = 20 // last lines
)

// msgEndedEarly is the message with which the sink logs a stream that did
// not complete.
const msgEndedEarly = "ginstream: stream ended early"

// newDemoLog returns an empty log of a demo whose demo log is file.
func newDemoLog(file string) *demoLog {
	return &demoLog{file: file, levels: make(map[string]int)}
}

// add parses one line of the demo's output.
func (l *demoLog) add(line string) {
	attrs := parseSlog(line)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.last) == tailLines {
		l.last = append(l.last[:0], l.last[1:]...)
	}
	l.last = append(l.last, line)
	level := attrs["level"]
	if level == "" {
		level = "(not slog)"
	}
	l.levels[level]++
	if level == "ERROR" && len(l.errors) < keptLines {
		l.errors = append(l.errors, line)
	}
	if attrs["msg"] == msgEndedEarly {
		d, _ := time.ParseDuration(attrs["duration"])
		l.ended = append(l.ended, endedEarly{path: attrs["path"], outcome: attrs["outcome"], duration: d})
		return
	}
	if level == "WARN" && len(l.warns) < keptLines {
		l.warns = append(l.warns, line)
	}
}

// count returns the number of lines at level.
func (l *demoLog) count(level string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.levels[level]
}

// errorLines returns the first lines at level ERROR.
func (l *demoLog) errorLines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errors...)
}

// warnLines returns the first lines at level WARN other than streams
// ending early.
func (l *demoLog) warnLines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.warns...)
}

// endedWith returns the streams logged as ended early whose outcome is
// outcome (any if empty).
func (l *demoLog) endedWith(outcome string) []endedEarly {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []endedEarly
	for _, e := range l.ended {
		if outcome == "" || e.outcome == outcome {
			out = append(out, e)
		}
	}
	return out
}

// tail returns the last lines, for a message.
func (l *demoLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, "\n")
}

// parseSlog returns the attributes of a line in log/slog's text format:
// key=value pairs separated by spaces, values quoted as Go strings when
// they need to be. A line in another format gives what could be parsed.
func parseSlog(line string) map[string]string {
	attrs := make(map[string]string)
	for line != "" {
		line = strings.TrimLeft(line, " ")
		key, rest, ok := strings.Cut(line, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \"") {
			return attrs
		}
		var value string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return attrs
			}
			value, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			value, rest, _ = strings.Cut(rest, " ")
		}
		attrs[key] = value
		line = rest
	}
	return attrs
}

// endedSummary returns the streams logged as ended early, counted by
// outcome and path, such as "stalled /stream/numbers: 500".
func (l *demoLog) endedSummary() []string {
	l.mu.Lock()
	counts := make(map[string]int)
	for _, e := range l.ended {
		counts[e.outcome+" "+e.path]++
	}
	l.mu.Unlock()
	var out []string
	for k, n := range counts {
		out = append(out, fmt.Sprintf("%s: %d", k, n))
	}
	slices.Sort(out)
	return out
}
