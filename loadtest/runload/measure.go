package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// result is what a measurement found.
type result struct {
	cfg    config
	attach attachPhase
	run    livePhase // clients attached to a live run
	topic  livePhase // the same clients subscribed to topic ticks
}

// filesSpare is how many open files the program needs besides its
// clients' connections.
const filesSpare = 64

// measure builds the demo and measures the three phases, each against a
// fresh demo, writing its progress to progress.
func measure(ctx context.Context, cfg config, progress io.Writer) (*result, error) {
	res := &result{cfg: cfg}
	limit, err := proc.RaiseFileLimit()
	if err != nil {
		return res, fmt.Errorf("raising the limit on open files: %w", err)
	}
	if limit < uint64(cfg.clients+filesSpare) {
		return res, fmt.Errorf("%d clients need %d open files; the limit is %d", cfg.clients, cfg.clients+filesSpare, limit)
	}
	tmp, err := os.MkdirTemp("", "runload-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintln(progress, "runload: building the demo")
	d, err := buildDemo(ctx, tmp)
	if err != nil {
		return res, fmt.Errorf("building the demo: %w", err)
	}
	if err := measureAttach(ctx, cfg, d, &res.attach, progress); err != nil {
		return res, fmt.Errorf("attach: %w", err)
	}
	if err := measureRun(ctx, cfg, d, &res.run, progress); err != nil {
		return res, fmt.Errorf("run: %w", err)
	}
	if err := measureTopic(ctx, cfg, d, res.run.window, &res.topic, progress); err != nil {
		return res, fmt.Errorf("topic: %w", err)
	}
	return res, nil
}
