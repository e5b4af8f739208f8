package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/latency"
)

// attachPhase is what the attaches to an ended run measured, over NDJSON
// and over Server-Sent Events.
type attachPhase struct {
	ndjson, sse attaches
}

// attaches are the attaches of one format.
type attaches struct {
	tried, correct int
	first          latency.Histogram // dial to the first number
	whole          latency.Histogram // dial to the end event
	errs           errorList
}

// measureAttach starts a demo and in it a count run of cfg.replay numbers
// at once, reads it to its end once, then attaches to the ended run
// cfg.attaches times over each format, alternately, into res.
func measureAttach(ctx context.Context, cfg config, d demo, res *attachPhase, progress io.Writer) (err error) {
	srv, stop, err := d.start(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	path, err := startRun(ctx, srv.Addr(), cfg.replay, 0)
	if err != nil {
		return err
	}
	if _, _, err := attach(ctx, srv.Addr(), path, false, cfg); err != nil {
		return fmt.Errorf("reading the run %s to its end: %w", path, err)
	}
	fmt.Fprintf(progress, "attach: run %s of %d numbers ended; %d attaches over NDJSON and SSE\n", path, cfg.replay, cfg.attaches)
	for range cfg.attaches {
		for _, sse := range []bool{false, true} {
			a := &res.ndjson
			if sse {
				a = &res.sse
			}
			a.tried++
			first, whole, err := attach(ctx, srv.Addr(), path, sse, cfg)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				a.errs.add(err)
				continue
			}
			a.correct++
			a.first.Record(first)
			a.whole.Record(whole)
		}
	}
	return nil
}

// attach attaches to the ended run at path, over Server-Sent Events or
// NDJSON, on a fresh connection, and reads it to its end, checking it. It
// returns the time from the dial to the first number and to the end
// event.
func attach(ctx context.Context, addr, path string, sse bool, cfg config) (first, whole time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	start := time.Now()
	conn, lines, err := connect(ctx, addr, path, sse, 1024)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	seq := runSequence(cfg.replay)
	err = read(lines, sse, func(ev event) error {
		counted, err := seq.see(ev)
		if counted && first == 0 {
			first = time.Since(start)
		}
		return err
	})
	whole = time.Since(start)
	return first, whole, errors.Join(err, seq.complete())
}
