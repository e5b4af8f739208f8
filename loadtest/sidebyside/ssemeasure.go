package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
	"github.com/ginstream/ginstream/loadtest/internal/child"
	"github.com/ginstream/ginstream/loadtest/internal/librarybuild"
)

// broadcastReady is the line an SSE server prints once it listens.
var broadcastReady = regexp.MustCompile("^" + regexp.QuoteMeta(broadcast.ReadyPrefix) + `(\S+)$`)

// sseRow is one SSE server's measurements.
type sseRow struct {
	server sseServer
	runs   []sseResult
}

// measureSSE builds the SSE servers and measures each -sse-runs times,
// each run on a fresh server and a fresh client process, the servers in
// turn (the order rotating by one every run, so that a drift in the
// machine's load weighs on all alike).
func measureSSE(ctx context.Context, cfg config, progress io.Writer) ([]*sseRow, error) {
	tmp, err := os.MkdirTemp("", "sidebyside-sse-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	servers := cfg.sse.selected()
	rows := make([]*sseRow, len(servers))
	bins := make([]string, len(servers))
	for i, s := range servers {
		fmt.Fprintf(progress, "sse: building %s …\n", s.name)
		// Built in this module, which requires go-sse and r3labs/sse and
		// replaces the library with the working tree's.
		if bins[i], err = librarybuild.BuildIn(ctx, librarybuild.LoadtestModule, filepath.Join(tmp, s.name), s.pkg); err != nil {
			return nil, err
		}
		rows[i] = &sseRow{server: s}
	}
	for run := range cfg.sse.runs {
		for j := range servers {
			i := (j + run) % len(servers)
			res, err := measureSSEOnce(ctx, cfg, servers[i], bins[i])
			if err != nil {
				return nil, fmt.Errorf("sse: %s: %w", servers[i].name, err)
			}
			rows[i].runs = append(rows[i].runs, res)
			fmt.Fprintf(progress, "sse: %s run %d of %d: %s\n", servers[i].name, run+1, cfg.sse.runs, res.summary())
		}
	}
	return rows, nil
}

// measureSSEOnce starts a fresh server, runs the SSE client child against
// it and stops it.
func measureSSEOnce(ctx context.Context, cfg config, s sseServer, bin string) (res sseResult, err error) {
	serverArgs := []string{"-addr", "127.0.0.1:0"}
	if s.gin {
		serverArgs = append(serverArgs, "-gin")
	}
	srv, err := child.Start(ctx, s.name, bin, serverArgs, broadcastReady, startTimeout)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, srv.Stop()) }()
	if err := sleepFor(ctx, settle); err != nil {
		return res, err
	}
	c := cfg.sse
	args := []string{
		sseClientFlag,
		"-addr", srv.Addr(), "-pid", strconv.Itoa(srv.PID()), "-path", s.path, "-timeout", cfg.timeout.String(),
		"-sse-subscribers", strconv.Itoa(c.subscribers),
		"-sse-rate", strconv.FormatFloat(c.rate, 'g', -1, 64),
		"-sse-payload", strconv.Itoa(c.payload),
		"-sse-warmup", c.warmup.String(),
		"-sse-window", c.window.String(),
		"-sse-stall", c.stall.String(),
		"-sse-stall-payload", strconv.Itoa(c.stallPayload),
		"-sse-drain", c.drain.String(),
		"-sse-dials", strconv.Itoa(c.dials),
	}
	wait, err := startChild(ctx, args, &res)
	if err != nil {
		return res, err
	}
	_, err = wait()
	return res, err
}

// summary is a run's progress line.
func (r sseResult) summary() string {
	return fmt.Sprintf("%d of %d ready, idle %s/subscriber, server CPU %.2f s in the window for %d deliveries, p99 %s, stall %s",
		r.Ready, r.Subscribers, kibString(r.idlePer()), r.ServerCPU.Seconds(), r.Deliveries,
		msDuration(r.P99), percent(r.stallFraction()))
}
