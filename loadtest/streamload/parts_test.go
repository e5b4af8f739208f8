package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

func TestParseConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want error
	}{
		{"help", []string{"-h"}, flag.ErrHelp},
		{"unknown scenario", []string{"-scenarios", "streams,chaos"}, cli.ErrUsage},
		{"no scenario", []string{"-scenarios", ","}, cli.ErrUsage},
		{"no streams", []string{"-streams", "0"}, cli.ErrUsage},
		{"stalled over 100%", []string{"-stalled-percent", "101"}, cli.ErrUsage},
		{"stream shorter than a log line", []string{"-stream-length", "10ms"}, cli.ErrUsage},
		{"no attackers", []string{"-slowloris", "0", "-non-readers", "0"}, cli.ErrUsage},
		{"no limit", []string{"-max-streams", "0"}, cli.ErrUsage},
		{"hog fewer than the limit", []string{"-hog-streams", "10", "-hog-max-streams", "20"}, cli.ErrUsage},
		{"hog share below a normal client's streams", []string{"-hog-per-client", "3"}, cli.ErrUsage},
		{"hog clients beyond 127.0.0.254", []string{"-hog-clients", "254"}, cli.ErrUsage},
		{"hog limit too small for the normal clients", []string{"-hog-max-streams", "200", "-hog-streams", "200", "-hog-per-client", "10", "-hog-clients", "48"}, cli.ErrUsage},
		{"argument", []string{"extra"}, cli.ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out, &out)
			if !errors.Is(err, tt.want) {
				t.Fatalf("run(%q) = %v, want %v", tt.args, err, tt.want)
			}
			if !strings.Contains(out.String(), "-scenarios") {
				t.Errorf("run(%q) printed %q, want the usage", tt.args, &out)
			}
		})
	}
}

func TestParseConfigSelects(t *testing.T) {
	cfg, err := parseConfig([]string{"-scenarios", "admission, shutdown", "-streams", "10"}, new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.selected) != 2 || !cfg.selected["admission"] || !cfg.selected["shutdown"] || cfg.streams != 10 {
		t.Errorf("selected %v, streams %d: want admission and shutdown, 10", cfg.selected, cfg.streams)
	}
	if got, want := cfg.filesNeeded(), uint64(max(cfg.maxStreams+cfg.over, cfg.shutdownStreams)+fdReserve); got != want {
		t.Errorf("files needed = %d, want %d", got, want)
	}
}

func TestParseSlog(t *testing.T) {
	line := `time=2026-01-02T03:04:05.000Z level=WARN msg="ginstream: stream ended early" method=GET path=/stream/numbers outcome=stalled status=200 items=7 bytes=42 duration=4.2s error="sink: client stalled: write tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout"`
	got := parseSlog(line)
	want := map[string]string{
		"level": "WARN", "msg": msgEndedEarly, "path": "/stream/numbers", "outcome": "stalled",
		"duration": "4.2s", "error": "sink: client stalled: write tcp 127.0.0.1:1->127.0.0.1:2: i/o timeout",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	l := newDemoLog("")
	l.add(line)
	l.add(`time=x level=ERROR msg="boom \"quoted\""`)
	l.add("not slog at all")
	if e := l.endedWith("stalled"); len(e) != 1 || e[0].duration != 4200*time.Millisecond || e[0].path != "/stream/numbers" {
		t.Errorf("ended early = %+v, want one stalled /stream/numbers of 4.2s", e)
	}
	if l.count("ERROR") != 1 || len(l.errorLines()) != 1 || l.count("(not slog)") != 1 {
		t.Errorf("levels %v, errors %q", l.levels, l.errorLines())
	}
}

func TestParseMetrics(t *testing.T) {
	s, err := parseMetrics([]byte(`# HELP x y
# TYPE ginstream_streams_total counter
ginstream_streams_total{route="/a",outcome="stalled"} 3
ginstream_streams_total{route="/b",outcome="stalled"} 4
ginstream_streams_total{route="/b",outcome="completed"} 5
go_goroutines 17
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.sum("ginstream_streams_total", `outcome="stalled"`); got != 7 {
		t.Errorf("stalled = %v, want 7", got)
	}
	if got := s.sum("ginstream_streams_total"); got != 12 {
		t.Errorf("all = %v, want 12", got)
	}
	if got := s.sum("go_goroutines"); got != 17 {
		t.Errorf("goroutines = %v, want 17", got)
	}
	if _, err := parseMetrics([]byte("novalue\n")); err == nil {
		t.Error("a line without a value parsed")
	}
}

func TestNumbers(t *testing.T) {
	body := numbersBody(12)
	if string(body) != "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n" {
		t.Fatalf("numbersBody(12) = %q", body)
	}
	for _, tt := range []struct {
		b    string
		want bool
	}{
		{"", true}, {"1\n2\n", true}, {"1\n3\n", false}, {"2\n", false}, {"1\n2", false}, {"01\n", false},
	} {
		if got := isNumbersPrefix([]byte(tt.b)); got != tt.want {
			t.Errorf("isNumbersPrefix(%q) = %v, want %v", tt.b, got, tt.want)
		}
	}
}

// TestLogIndex checks that a run of the log's lines verifies and anything
// else does not, as the log grows.
func TestLogIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.log")
	if err := os.WriteFile(path, []byte("a 1\nb 2\nc 3\nb 2\npartial"), 0o644); err != nil {
		t.Fatal(err)
	}
	x := &logIndex{path: path}
	for _, tt := range []struct {
		got string
		ok  bool
	}{
		{"a 1\nb 2\n", true},
		{"c 3\nb 2\n", true},
		{"a 1\nc 3\n", false},        // a line missing
		{"b 2\nc 3\n", false},        // a line that is there twice: ambiguous
		{"c 3\nb 2\npartial", false}, // past the complete lines
		{"d 4\n", false},             // not there (yet)
	} {
		if err := x.verify([]byte(tt.got)); (err == nil) != tt.ok {
			t.Errorf("verify(%q) = %v, want ok %v", tt.got, err, tt.ok)
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(" line\nd 4\n")
	f.Close()
	if err := x.verify([]byte("partial line\nd 4\n")); err != nil {
		t.Errorf("after the log grew: %v", err)
	}
}

// TestDrainCut checks the stalled clients' verdict against a real server
// whose streams end each way: cut, cleanly, or not at all.
func TestDrainCut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("some\n"))
		w.(http.Flusher).Flush()
		switch r.URL.Path {
		case "/cut":
			panic(http.ErrAbortHandler)
		case "/endless":
			for r.Context().Err() == nil {
				if _, err := w.Write(make([]byte, 64<<10)); err != nil {
					return
				}
			}
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, tt := range []struct {
		path string
		want string // in the error; empty for none
	}{
		{"/cut", ""},
		{"/clean", "clean end"},
		{"/endless", "still streaming"},
	} {
		conn, err := dialHTTP(context.Background(), nil, addr, 0)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := conn.get(tt.path, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		var drained atomic.Int64
		err = drainCut(conn, resp, &drained)
		conn.close()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: drainCut = %v, want %q", tt.path, err, tt.want)
		}
		if drained.Load() < int64(len("some\n")) {
			t.Errorf("%s: drained %d bytes", tt.path, drained.Load())
		}
	}
}
