package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

// config is a run's configuration, from the command line.
type config struct {
	selected map[string]bool // the scenarios to run, by name
	demo     string          // the demo binary; empty to build it

	// reference runs the streams scenario against the reference server
	// first, then the demo, and compares them.
	reference bool

	// streams (and the normal clients of hog)
	streams        int           // clients, each with a stream open
	stalledPercent int           // of them, clients that stop reading
	hold           time.Duration // how long the clients keep streaming
	period         time.Duration // a client starts a stream at most this often
	streamLength   time.Duration // how long a numbers or log stream lasts
	stallTimeout   time.Duration // the demo's -stall-timeout (streams, slowloris, hog)
	users          int           // the demo's -users: rows of the export
	perStream      int64         // the memory bound's bytes per stream
	dials          int           // connections being set up at once

	// slowloris
	slowloris         int           // clients dribbling headers
	nonReaders        int           // clients never reading the body
	readHeaderTimeout time.Duration // the demo's -read-header-timeout

	// admission
	maxStreams int // the demo's -max-streams: K
	over       int // streams opened beyond K

	// shutdown
	shutdownStreams int           // streams open at SIGTERM
	shutdownTimeout time.Duration // the demo's -shutdown-timeout

	// hog
	hogStreams    int // streams the attacker opens at once from one address
	hogMaxStreams int // the demo's -max-streams
	hogPerClient  int // the demo's -max-streams-per-client
	hogClients    int // normal clients, each from an address of its own
}

// defaultConfig is the full-size configuration.
func defaultConfig() config {
	return config{
		streams:           5000,
		stalledPercent:    10,
		hold:              60 * time.Second,
		period:            5 * time.Second,
		streamLength:      5 * time.Second,
		stallTimeout:      15 * time.Second,
		users:             2000,
		perStream:         defaultPerStream,
		dials:             64,
		slowloris:         1000,
		nonReaders:        100,
		readHeaderTimeout: 2 * time.Second,
		maxStreams:        200,
		over:              50,
		shutdownStreams:   1000,
		shutdownTimeout:   10 * time.Second,
		hogStreams:        300,
		hogMaxStreams:     300,
		hogPerClient:      15, // the demo's default for -max-streams 300: 5%
		hogClients:        49, // 127.0.0.2 to 127.0.0.50
	}
}

// parseConfig reads the configuration from the command-line arguments
// (without the program name). -h prints the usage to out and returns
// flag.ErrHelp.
func parseConfig(args []string, out io.Writer) (config, error) {
	cfg := defaultConfig()
	names := make([]string, len(scenarios))
	for i, sc := range scenarios {
		names[i] = sc.name
	}
	fs := flag.NewFlagSet("streamload", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: go run -C loadtest ./streamload [flags]

Runs the demo server as a child process on loopback and checks that it
holds under load and against hostile clients: many concurrent streams, some
stalled; slow-loris clients; the admission limit; a shutdown with streams
open; one client address opening streams until its share is full. Prints a
PASS/FAIL table per scenario; exits 1 if a check failed.

Flags:
`)
		fs.PrintDefaults()
	}
	selected := fs.String("scenarios", strings.Join(names, ","), "comma-separated `list` of scenarios to run")
	fs.StringVar(&cfg.demo, "demo", "", "demo `binary` to run; empty to build ./cmd/demo")
	fs.BoolVar(&cfg.reference, "reference", false, "streams: run the scenario against a plain net/http reference server first, then the demo, and compare their memory per active stream")
	fs.IntVar(&cfg.streams, "streams", cfg.streams, "streams: `number` of clients, each with a stream open")
	fs.IntVar(&cfg.stalledPercent, "stalled-percent", cfg.stalledPercent, "streams: `percent` of the clients that stop reading after the headers")
	fs.DurationVar(&cfg.hold, "hold", cfg.hold, "streams, hog: how long the clients keep streaming")
	fs.DurationVar(&cfg.period, "period", cfg.period, "streams, hog: a client starts a stream at most this often")
	fs.DurationVar(&cfg.streamLength, "stream-length", cfg.streamLength, "streams, hog: how long a numbers or log stream lasts")
	fs.DurationVar(&cfg.stallTimeout, "stall-timeout", cfg.stallTimeout, "streams, slowloris, hog: the demo's -stall-timeout")
	fs.IntVar(&cfg.users, "users", cfg.users, "streams, hog: the demo's -users, the rows of each export")
	fs.Int64Var(&cfg.perStream, "bound-per-stream", cfg.perStream, "streams: `bytes` per stream in the memory bound (base + streams × this)")
	fs.IntVar(&cfg.dials, "dials", cfg.dials, "`number` of connections set up at once")
	fs.IntVar(&cfg.slowloris, "slowloris", cfg.slowloris, "slowloris: `number` of clients dribbling request headers")
	fs.IntVar(&cfg.nonReaders, "non-readers", cfg.nonReaders, "slowloris: `number` of clients that never read the body")
	fs.DurationVar(&cfg.readHeaderTimeout, "read-header-timeout", cfg.readHeaderTimeout, "slowloris: the demo's -read-header-timeout")
	fs.IntVar(&cfg.maxStreams, "max-streams", cfg.maxStreams, "admission: the demo's -max-streams (K)")
	fs.IntVar(&cfg.over, "over", cfg.over, "admission: `number` of streams opened beyond K")
	fs.IntVar(&cfg.shutdownStreams, "shutdown-streams", cfg.shutdownStreams, "shutdown: `number` of streams open at SIGTERM")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", cfg.shutdownTimeout, "shutdown: the demo's -shutdown-timeout")
	fs.IntVar(&cfg.hogStreams, "hog-streams", cfg.hogStreams, "hog: `number` of streams the attacker opens at once from 127.0.0.1 (at least -hog-max-streams)")
	fs.IntVar(&cfg.hogMaxStreams, "hog-max-streams", cfg.hogMaxStreams, "hog: the demo's -max-streams")
	fs.IntVar(&cfg.hogPerClient, "hog-per-client", cfg.hogPerClient, "hog: the demo's -max-streams-per-client (its default is 5% of -max-streams, at least 4)")
	fs.IntVar(&cfg.hogClients, "hog-clients", cfg.hogClients, "hog: `number` of normal clients, each from an address of its own (127.0.0.2 on)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %w", cli.ErrUsage, err)
	}
	cfg.selected = make(map[string]bool)
	var problem string
	for name := range strings.SplitSeq(*selected, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.Contains(names, name) {
			problem = fmt.Sprintf("unknown scenario %q (known: %s)", name, strings.Join(names, ", "))
		}
		cfg.selected[name] = true
	}
	switch {
	case problem != "":
	case fs.NArg() > 0:
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case len(cfg.selected) == 0:
		problem = "-scenarios names none"
	default:
		problem = cfg.check()
	}
	if problem != "" {
		fmt.Fprintln(out, problem)
		fs.Usage()
		return cfg, fmt.Errorf("%w: %s", cli.ErrUsage, problem)
	}
	return cfg, nil
}

// check returns what is wrong with cfg's sizes and times, or "".
func (cfg config) check() string {
	switch {
	case cfg.streams < 1:
		return "-streams must be at least 1"
	case cfg.stalledPercent < 0 || cfg.stalledPercent > 100:
		return "-stalled-percent must be from 0 to 100"
	case cfg.hold <= 0 || cfg.period <= 0:
		return "-hold and -period must be positive"
	case cfg.streamLength < logInterval:
		return fmt.Sprintf("-stream-length must be at least %v", logInterval)
	case cfg.stallTimeout <= 0 || cfg.readHeaderTimeout <= 0 || cfg.shutdownTimeout <= 0:
		return "-stall-timeout, -read-header-timeout and -shutdown-timeout must be positive"
	case cfg.users < 1:
		return "-users must be at least 1"
	case cfg.perStream < 1:
		return "-bound-per-stream must be positive"
	case cfg.dials < 1:
		return "-dials must be at least 1"
	case cfg.slowloris < 0 || cfg.nonReaders < 0 || cfg.slowloris+cfg.nonReaders == 0:
		return "-slowloris and -non-readers must not be negative, nor both zero"
	case cfg.maxStreams < 1 || cfg.over < 1:
		return "-max-streams and -over must be at least 1"
	case cfg.shutdownStreams < 1:
		return "-shutdown-streams must be at least 1"
	case cfg.hogMaxStreams < 1 || cfg.hogStreams < cfg.hogMaxStreams:
		return "-hog-max-streams must be at least 1, and -hog-streams at least as many (the attacker could take every place)"
	case cfg.hogClients < 1 || cfg.hogClients > maxHogClients:
		return fmt.Sprintf("-hog-clients must be from 1 to %d (127.0.0.2 to 127.0.0.%d)", maxHogClients, maxHogClients+1)
	case cfg.hogPerClient < hogClientPeak:
		return fmt.Sprintf("-hog-per-client must be at least %d, the streams a normal client may hold at once", hogClientPeak)
	case cfg.hogPerClient+hogClientPeak*cfg.hogClients > cfg.hogMaxStreams:
		return fmt.Sprintf("-hog-max-streams must hold the attacker's share and every normal client's streams: at least -hog-per-client + %d × -hog-clients", hogClientPeak)
	}
	return ""
}

// fdReserve is the file descriptors this process needs besides its
// clients' sockets: pipes, the metrics client, the runtime.
const fdReserve = 64

// filesNeeded returns the file descriptors the selected scenarios need at
// most in this process: one per client socket.
func (cfg config) filesNeeded() uint64 {
	n := 0
	if cfg.selected["streams"] {
		n = max(n, cfg.streams)
	}
	if cfg.selected["slowloris"] {
		n = max(n, cfg.slowloris+cfg.nonReaders)
	}
	if cfg.selected["admission"] {
		n = max(n, cfg.maxStreams+cfg.over)
	}
	if cfg.selected["shutdown"] {
		n = max(n, cfg.shutdownStreams)
	}
	if cfg.selected["hog"] {
		n = max(n, cfg.hogStreams+hogClientPeak*cfg.hogClients)
	}
	return uint64(n) + fdReserve
}
