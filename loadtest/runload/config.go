package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

// config is a measurement's configuration, from the command line.
type config struct {
	attaches int           // attaches to the ended run, per format
	replay   int           // numbers of the ended run
	clients  int           // clients attached to the live run, and subscribed to the topic
	events   int           // numbers of the live run
	interval time.Duration // between two numbers of the live run, and two ticks
	dials    int           // connections being set up at once
	settle   time.Duration // after a demo starts or a run starts, before measuring
	timeout  time.Duration // bound on a connection beyond the run's own length
}

// The demo's bounds on a count run (cmd/demo/runkinds.go).
const (
	maxCount    = 1_000
	maxInterval = 10 * time.Second
)

// parseConfig reads the configuration from the command-line arguments
// (without the program name). -h prints the usage to out and returns
// flag.ErrHelp.
func parseConfig(args []string, out io.Writer) (config, error) {
	cfg := config{
		attaches: 200,
		replay:   1_000,
		clients:  1_000,
		events:   200,
		interval: 100 * time.Millisecond,
		dials:    64,
		settle:   time.Second,
		timeout:  time.Minute,
	}
	fs := flag.NewFlagSet("runload", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: go run -C loadtest ./runload [flags]

Measures runs (package runs) against the demo as a child process: attach
latency to an ended run, and many clients attached to one live run against
the same clients subscribed to a plain topic. Prints one table.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.IntVar(&cfg.attaches, "attaches", cfg.attaches, "`number` of attaches to the ended run over each of NDJSON and SSE")
	fs.IntVar(&cfg.replay, "replay", cfg.replay, "`numbers` of the ended run that each attach replays (at most 1000)")
	fs.IntVar(&cfg.clients, "clients", cfg.clients, "`number` of clients attached to the live run (and subscribed to the topic)")
	fs.IntVar(&cfg.events, "events", cfg.events, "`numbers` of the live run (at most 1000)")
	fs.DurationVar(&cfg.interval, "interval", cfg.interval, "between two numbers of the live run, in whole ms, and two ticks of the topic")
	fs.IntVar(&cfg.dials, "dials", cfg.dials, "`number` of connections set up at once")
	fs.DurationVar(&cfg.settle, "settle", cfg.settle, "wait after a demo or a run starts, before measuring")
	fs.DurationVar(&cfg.timeout, "timeout", cfg.timeout, "bound on a connection beyond the run's own length")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %w", cli.ErrUsage, err)
	}
	var problem string
	switch {
	case fs.NArg() > 0:
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case cfg.attaches < 1:
		problem = "-attaches must be at least 1"
	case cfg.replay < 1 || cfg.replay > maxCount:
		problem = fmt.Sprintf("-replay must be from 1 to %d", maxCount)
	case cfg.clients < 1:
		problem = "-clients must be at least 1"
	case cfg.events < 1 || cfg.events > maxCount:
		problem = fmt.Sprintf("-events must be from 1 to %d", maxCount)
	case cfg.interval < time.Millisecond || cfg.interval > maxInterval || cfg.interval%time.Millisecond != 0:
		problem = fmt.Sprintf("-interval must be whole ms from 1ms to %v", maxInterval)
	case cfg.dials < 1:
		problem = "-dials must be at least 1"
	case cfg.settle < 0:
		problem = "-settle must not be negative"
	case cfg.timeout <= 0:
		problem = "-timeout must be positive"
	}
	if problem != "" {
		fmt.Fprintln(out, problem)
		fs.Usage()
		return cfg, fmt.Errorf("%w: %s", cli.ErrUsage, problem)
	}
	return cfg, nil
}

// runLength is how long the live run lasts: its numbers' intervals.
func (cfg config) runLength() time.Duration {
	return time.Duration(cfg.events-1) * cfg.interval
}
