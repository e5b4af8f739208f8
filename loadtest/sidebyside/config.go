package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

// config is a run's configuration, from the command line.
type config struct {
	selected map[string]bool // the workloads to run, by name
	runs     int             // measurements per workload and server
	demo     string          // the demo binary; empty to build it
	pgBin    string          // the directory of initdb and postgres
	timeout  time.Duration   // bounds each client

	numbers       int           // numbers: lines of the stream
	users         int           // export: rows of the users table
	fileSize      int64         // files: bytes of the file
	fileClients   int           // files: downloads at once
	pacedStreams  int           // paced: streams at once
	pacedCount    int           // paced: lines of each stream
	pacedInterval time.Duration // paced: between the lines

	sse sseConfig // the sse workload
}

// defaultPGBin is where Debian and Ubuntu install PostgreSQL 15's
// programs, as internal/pgtest expects them; PGTEST_BINDIR overrides it,
// as it does for the tests.
const defaultPGBin = "/usr/lib/postgresql/15/bin"

// defaultConfig is the configuration without flags: a few minutes on two
// cores.
func defaultConfig() config {
	pgBin := os.Getenv("PGTEST_BINDIR")
	if pgBin == "" {
		pgBin = defaultPGBin
	}
	return config{
		runs:          5,
		pgBin:         pgBin,
		timeout:       5 * time.Minute,
		numbers:       20_000_000,
		users:         1_000_000,
		fileSize:      256 << 20,
		fileClients:   4,
		pacedStreams:  2000,
		pacedCount:    10,
		pacedInterval: time.Second,
		sse:           defaultSSEConfig(),
	}
}

// parseConfig reads the configuration from the command-line arguments
// (without the program name). -h prints the usage to out and returns
// flag.ErrHelp.
func parseConfig(args []string, out io.Writer) (config, error) {
	cfg := defaultConfig()
	names := make([]string, len(workloads))
	for i, w := range workloads {
		names[i] = w.name
	}
	known := append(slices.Clone(names), sseWorkload)
	fs := flag.NewFlagSet("sidebyside", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: go run -C loadtest ./sidebyside [flags]

Runs the ginstream demo and a plain net/http reference server, each as a
process of its own and fresh for each measurement, drives each with a
client process, and prints one table: throughput or memory per stream,
their ratio, server CPU seconds, RSS growth, and whether every body was
byte-exact (SHA-256). Exits 1 if a body was wrong.

-workloads sse (not among the defaults) runs SSE broadcast servers instead
(net/http alone, ginstream, go-sse, r3labs/sse), each fresh, against one
fan-out client process, and prints a table of its own: memory per idle
subscriber, CPU per delivery, latency, missed events, and deliveries to
healthy subscribers while one subscriber has stopped reading.

Flags:
`)
		fs.PrintDefaults()
	}
	selected := fs.String("workloads", strings.Join(names, ","), "comma-separated `list` of workloads to run: "+strings.Join(known, ", "))
	fs.IntVar(&cfg.runs, "runs", cfg.runs, "`number` of measurements per workload and server; the table shows medians")
	fs.StringVar(&cfg.demo, "demo", "", "demo `binary` to run; empty to build ./cmd/demo")
	fs.StringVar(&cfg.pgBin, "pg-bin", cfg.pgBin, "`directory` of PostgreSQL's initdb, postgres and pg_isready, for the export (default: $PGTEST_BINDIR or "+defaultPGBin+")")
	fs.DurationVar(&cfg.timeout, "timeout", cfg.timeout, "the longest one client may take")
	fs.IntVar(&cfg.numbers, "numbers", cfg.numbers, "numbers: `lines` of the stream")
	fs.IntVar(&cfg.users, "users", cfg.users, "export: `rows` of the users table")
	fs.Int64Var(&cfg.fileSize, "file-size", cfg.fileSize, "files: `bytes` of the file")
	fs.IntVar(&cfg.fileClients, "file-clients", cfg.fileClients, "files: `number` of downloads at once")
	fs.IntVar(&cfg.pacedStreams, "paced-streams", cfg.pacedStreams, "paced: `number` of streams at once")
	fs.IntVar(&cfg.pacedCount, "paced-count", cfg.pacedCount, "paced: `lines` of each stream")
	fs.DurationVar(&cfg.pacedInterval, "paced-interval", cfg.pacedInterval, "paced: time between the lines, whole milliseconds")
	cfg.sse.flags(fs)
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
		if !slices.Contains(known, name) {
			problem = fmt.Sprintf("unknown workload %q (known: %s)", name, strings.Join(known, ", "))
		}
		cfg.selected[name] = true
	}
	switch {
	case problem != "":
	case fs.NArg() > 0:
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case len(cfg.selected) == 0:
		problem = "-workloads names none"
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
	case cfg.runs < 1:
		return "-runs must be at least 1"
	case cfg.timeout <= 0:
		return "-timeout must be positive"
	case cfg.numbers < 1 || cfg.numbers > 1_000_000_000:
		return "-numbers must be from 1 to 1,000,000,000 (the demo's range)"
	case cfg.users < 1:
		return "-users must be at least 1"
	case cfg.fileSize < 1:
		return "-file-size must be at least 1"
	case cfg.fileClients < 1:
		return "-file-clients must be at least 1"
	case cfg.pacedStreams < 1 || cfg.pacedCount < 1:
		return "-paced-streams and -paced-count must be at least 1"
	case cfg.pacedInterval < time.Millisecond || cfg.pacedInterval%time.Millisecond != 0 || cfg.pacedInterval > time.Minute:
		return "-paced-interval must be whole milliseconds, from 1ms to 1m (the demo's range)"
	}
	return cfg.sse.check()
}
