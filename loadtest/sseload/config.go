package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

// config is a load run's configuration, from the command line.
type config struct {
	subscribers int           // streams held open at once
	rate        float64       // events published per second
	duration    time.Duration // the measured window
	warmup      time.Duration // publishing before the window
	payload     int           // bytes of each event's data
	dials       int           // connections being set up at once
	server      string        // the child's events handler: handlerSSE or handlerDirect
	reference   bool          // also measure the plain net/http reference
	json        bool          // print the result as JSON
	profile     string        // directory for the child's profiles; empty for none
}

// drainTimeout bounds the wait, after the window, for every subscriber to
// receive an event published after it.
const drainTimeout = 10 * time.Second

// parseConfig reads the configuration from the command-line arguments
// (without the program name). -h prints the usage to out and returns
// flag.ErrHelp.
func parseConfig(args []string, out io.Writer) (config, error) {
	cfg := config{
		subscribers: 10_000,
		rate:        10,
		duration:    30 * time.Second,
		warmup:      2 * time.Second,
		payload:     64,
		dials:       64,
		server:      handlerSSE,
	}
	fs := flag.NewFlagSet("sseload", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: go run -C loadtest ./sseload [flags]

Holds many Server-Sent Events subscribers open on loopback against a
child server process (gin + sse.EventWriter + sse.MemHub), broadcasts events to
them, and reports connections kept, delivery latency and server memory.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.IntVar(&cfg.subscribers, "subscribers", cfg.subscribers, "`number` of concurrent subscribers")
	fs.Float64Var(&cfg.rate, "rate", cfg.rate, "`events` broadcast per second")
	fs.DurationVar(&cfg.duration, "duration", cfg.duration, "length of the measured window")
	fs.DurationVar(&cfg.warmup, "warmup", cfg.warmup, "publishing before the measured window")
	fs.IntVar(&cfg.payload, "payload", cfg.payload, "`bytes` of data per event (at least the 19-digit timestamp)")
	fs.IntVar(&cfg.dials, "dials", cfg.dials, "`number` of connections set up at once")
	fs.StringVar(&cfg.server, "server", cfg.server, "the server's events `handler`: sse (gin + sse.EventWriter) or direct (gin and a hand-written handler writing the hub's frames: the floor, for comparison)")
	fs.BoolVar(&cfg.reference, "reference", false, "first measure a plain net/http handler's idle connections, and report the difference")
	fs.BoolVar(&cfg.json, "json", false, "print the result as JSON instead of a summary")
	fs.StringVar(&cfg.profile, "profile", "", "write heap profiles and goroutine dumps of the child, and CPU profiles of the window of both processes, into this `directory`")
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
	case cfg.subscribers < 1:
		problem = "-subscribers must be at least 1"
	case !(cfg.rate > 0 && cfg.rate <= 10_000):
		problem = "-rate must be more than 0 and at most 10000"
	case cfg.duration <= 0:
		problem = "-duration must be positive"
	case cfg.warmup < 0:
		problem = "-warmup must not be negative"
	case cfg.payload < timestampDigits || cfg.payload > 1<<16:
		problem = fmt.Sprintf("-payload must be from %d to 65536", timestampDigits)
	case cfg.dials < 1:
		problem = "-dials must be at least 1"
	case cfg.server != handlerSSE && cfg.server != handlerDirect:
		problem = "-server must be sse or direct"
	}
	if problem != "" {
		fmt.Fprintln(out, problem)
		fs.Usage()
		return cfg, fmt.Errorf("%w: %s", cli.ErrUsage, problem)
	}
	return cfg, nil
}
