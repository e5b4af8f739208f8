// Command sseload measures how package sse holds up under many concurrent
// subscribers: it holds N Server-Sent Events streams open on loopback,
// broadcasts events to all of them at a steady rate, and reports whether
// every subscriber stayed connected, the delivery latency of the events,
// and what an idle subscriber costs the server in memory.
//
//	go run -C loadtest ./sseload                   # 10,000 subscribers, 10 events/s, 30 s
//	go run -C loadtest ./sseload -reference -json  # also measure plain net/http, print JSON
//	go run -C loadtest ./sseload -subscribers 200 -duration 2s
//
// (from the repository's root; in loadtest/, go run ./sseload).
//
// The server runs in a child process, the same binary re-executed with a
// hidden -serve flag, so that the server's and the clients' sockets each
// fit in one process's file-descriptor limit and the server's memory can
// be measured alone. The child serves gin with an [sse.EventWriter] subscribing
// each request to one topic of an [sse.MemHub]; its publisher broadcasts
// -rate events a second, each carrying its publication time, so that the
// clients (one goroutine and one small buffered reader each, in this
// process) compute every event's delivery latency on the same clock.
//
// A run goes through these phases, all bounded in time:
//
//  1. baseline: the child's memory with no subscriber;
//  2. idle: N subscribers connect and receive the stream's opening retry
//     field; the child's memory again (after a GC). Memory per idle
//     subscriber is (idle − baseline) / N;
//  3. load: the publisher starts; after -warmup, events published during
//     -duration are measured: per subscriber received, latency
//     percentiles, the child's memory and CPU;
//  4. drain: at most 10 s for every subscriber to receive the first event
//     published after the window; then everything is closed and joined.
//
// With -reference, a first run measures phases 1 and 2 against a plain
// net/http handler that holds each connection open and flushes a comment
// every 15 s: what net/http itself spends per connection. The summary
// then states what a subscriber costs beyond it.
//
// With -server direct, the child serves the same hub with a hand-written
// handler instead: the subscription writes each frame straight to the
// response, with none of sse.EventWriter's heartbeats, endings or reports: the
// floor against which sse.EventWriter (which also runs the subscription on the
// handler's goroutine) is compared.
//
// With -profile dir, the child's heap profile and goroutine dump are saved
// when idle and after the load, and both processes' CPU profiles for the
// window (go tool pprof reads them).
//
// Latency is measured from when an event was due on the publisher's
// schedule, not from when it was published, so that an overloaded server
// (a publisher that does not get the CPU in time) shows in the figures
// rather than hiding in a lower rate. The clients share the machine's
// cores with the server, and so does anything else running: the summary
// says how much CPU each used during the window.
//
// The run fails (exit status 1, after the summary) if a subscriber could
// not connect or did not stay connected to the end.
package main

import (
	"context"
	"io"
	"os"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

func main() {
	cli.Main("sseload", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	})
}

// run runs sseload with the given command-line arguments (without the
// program name): the load run, or the server child if args start with
// -serve. The child reads stdin only to notice that its parent has closed
// it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if isServe(args) {
		return serve(ctx, args[1:], stdin, stdout, stderr)
	}
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	res, err := measure(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if cfg.json {
		err = res.writeJSON(stdout)
	} else {
		err = res.writeSummary(stdout)
	}
	if err != nil {
		return err
	}
	return res.verdict()
}

// isServe reports whether args ask for the server child.
func isServe(args []string) bool {
	return len(args) > 0 && args[0] == serveFlag
}
