package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ginstream/ginstream/runs"
)

// config is the demo's configuration, read from flags and the environment
// by parseConfig. Flags win over environment variables.
type config struct {
	addr              string        // listen address
	dataDir           string        // where the database, reports and log live
	databaseURL       string        // a postgres:// URL; empty for SQLite in dataDir
	users             int           // users a new database is seeded with
	logInterval       time.Duration // how often the demo log gets a line
	logMaxBytes       int64         // the demo log is rotated past this size
	eventInterval     time.Duration // how often /events gets a tick
	shutdownTimeout   time.Duration // how long open requests get at shutdown
	stallTimeout      time.Duration // a stream whose client accepts nothing for this long ends
	readHeaderTimeout time.Duration // how long a client may take to send a request's headers
	h2c               bool          // also serve HTTP/2 without TLS, with prior knowledge
	maxStreams        int64         // streams running at once; more are answered 503 (0: no limit)
	maxPerClient      int           // streams one client (address) may hold; more are answered 429 (0: no cap)
	maxDuration       time.Duration // the longest a stream may run (0: no limit)
	nats              string        // NATS server URLs, "embedded", or empty for events in memory
	publish           bool          // publish the demo's ticks, orders and log lines to the hub
	maxRuns           int           // runs (POST /runs) running at once on this instance; more are answered 429
	runRetention      time.Duration // how long an ended run stays attachable; after it GET /runs/{id} is 410
}

// errUsage reports command-line arguments that parseConfig rejected; the
// flag package has printed why, and the usage.
var errUsage = errors.New("invalid arguments")

// parseConfig reads the configuration from the command-line arguments
// (without the program name) and the environment. -h prints the usage to
// out and returns flag.ErrHelp.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	cfg := config{
		addr:              ":8080",
		dataDir:           "data",
		databaseURL:       getenv("DATABASE_URL"),
		users:             100_000,
		logInterval:       500 * time.Millisecond,
		logMaxBytes:       256 << 10,
		eventInterval:     time.Second,
		shutdownTimeout:   10 * time.Second,
		stallTimeout:      30 * time.Second,
		maxStreams:        10_000,
		maxPerClient:      -1, // 5% of maxStreams
		maxDuration:       time.Hour,
		readHeaderTimeout: 10 * time.Second,
		publish:           true,
		maxRuns:           runs.DefaultMaxRunning,
		runRetention:      runs.DefaultRetention,
	}
	if port := getenv("PORT"); port != "" {
		cfg.addr = ":" + port
	}
	if dir := getenv("DATA_DIR"); dir != "" {
		cfg.dataDir = dir
	}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: go run ./cmd/demo [flags]

Serves ginstream's demo: a page at / that streams numbers and log lines,
live events and the log as Server-Sent Events that resume after a
reconnect, a CSV export of a users table, a sample report, a proxied
stream, runs that outlive their request (POST /runs?kind=tokens|report),
and Prometheus metrics at /metrics.

Flags:
`)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.addr, "addr", cfg.addr, "listen `address` (environment: PORT=n means :n)")
	fs.StringVar(&cfg.dataDir, "data", cfg.dataDir, "data `directory` for the SQLite database, reports and demo log, created when absent (environment: DATA_DIR)")
	fs.StringVar(&cfg.databaseURL, "db", cfg.databaseURL, "PostgreSQL `URL` (postgres://…) to use instead of SQLite in the data directory (environment: DATABASE_URL)")
	fs.IntVar(&cfg.users, "users", cfg.users, "`number` of users to seed a new database with")
	fs.DurationVar(&cfg.logInterval, "log-interval", cfg.logInterval, "how often the demo log gets a new line")
	fs.Int64Var(&cfg.logMaxBytes, "log-max-bytes", cfg.logMaxBytes, "rotate the demo log when it grows past this `size`")
	fs.DurationVar(&cfg.eventInterval, "event-interval", cfg.eventInterval, "how often /events publishes a tick (and, every third, an order)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", cfg.shutdownTimeout, "how long open requests may take to end at shutdown")
	fs.DurationVar(&cfg.stallTimeout, "stall-timeout", cfg.stallTimeout, "end a stream whose client has accepted nothing for this long")
	fs.Int64Var(&cfg.maxStreams, "max-streams", cfg.maxStreams, "`number` of streams that may run at once; more are answered 503 with Retry-After (0: no limit)")
	fs.IntVar(&cfg.maxPerClient, "max-streams-per-client", cfg.maxPerClient, "`number` of streams one client address may hold at once; more are answered 429 with Retry-After (0: no cap; default: 5% of -max-streams, at least 4)")
	fs.DurationVar(&cfg.maxDuration, "max-stream-duration", cfg.maxDuration, "the longest a stream may run: an event stream then asks its client to reconnect, others end as a failed transfer; /stream/numbers refuses to start a longer one (0: no limit)")
	fs.DurationVar(&cfg.readHeaderTimeout, "read-header-timeout", cfg.readHeaderTimeout, "how long a client may take to send a request's headers")
	fs.BoolVar(&cfg.h2c, "h2c", cfg.h2c, "also serve HTTP/2 without TLS to clients that start with its preface (h2c with prior knowledge), as a proxy in front of the demo may speak it")
	fs.StringVar(&cfg.nats, "nats", cfg.nats, "share the event streams among instances through NATS JetStream: the servers' `URL` (nats://host:port), or embedded to start one in the demo (default: events in memory)")
	fs.BoolVar(&cfg.publish, "publish", cfg.publish, "publish the demo's ticks, orders and log lines; with -nats, set it to false on all instances but one to keep one source")
	fs.IntVar(&cfg.maxRuns, "max-runs", cfg.maxRuns, "`number` of runs (POST /runs) this instance runs at once; more are answered 429 with Retry-After")
	fs.DurationVar(&cfg.runRetention, "run-retention", cfg.runRetention, "how long a run that ended can still be watched (GET /runs/{id}); after it, 410 Gone")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return cfg, usageError(fs, "unexpected argument %q", fs.Arg(0))
	}
	switch {
	case cfg.databaseURL != "" && !isPostgresURL(cfg.databaseURL):
		return cfg, usageError(fs, "-db (or DATABASE_URL) must be a postgres:// or postgresql:// URL")
	case cfg.users < 0:
		return cfg, usageError(fs, "-users must not be negative")
	case cfg.logInterval <= 0:
		return cfg, usageError(fs, "-log-interval must be positive")
	case cfg.logMaxBytes <= 0:
		return cfg, usageError(fs, "-log-max-bytes must be positive")
	case cfg.eventInterval <= 0:
		return cfg, usageError(fs, "-event-interval must be positive")
	case cfg.shutdownTimeout <= 0:
		return cfg, usageError(fs, "-shutdown-timeout must be positive")
	case cfg.stallTimeout <= 0:
		return cfg, usageError(fs, "-stall-timeout must be positive")
	case cfg.readHeaderTimeout <= 0:
		return cfg, usageError(fs, "-read-header-timeout must be positive")
	case cfg.maxStreams < 0:
		return cfg, usageError(fs, "-max-streams must not be negative")
	case cfg.maxDuration < 0:
		return cfg, usageError(fs, "-max-stream-duration must not be negative")
	case cfg.maxPerClient < -1:
		return cfg, usageError(fs, "-max-streams-per-client must not be negative")
	case cfg.maxRuns <= 0:
		return cfg, usageError(fs, "-max-runs must be positive")
	case cfg.runRetention <= 0:
		return cfg, usageError(fs, "-run-retention must be positive")
	case cfg.nats != "" && cfg.nats != natsEmbedded && !isNATSURL(cfg.nats):
		return cfg, usageError(fs, "-nats must be embedded or nats:// URLs")
	}
	if cfg.maxPerClient == -1 { // not set: a small share of the limit
		cfg.maxPerClient = 0
		if cfg.maxStreams > 0 {
			cfg.maxPerClient = int(max(cfg.maxStreams/20, 4))
		}
	}
	return cfg, nil
}

// usageError prints a message and the usage, as the flag package does for
// a bad flag, and returns an error matching errUsage.
func usageError(fs *flag.FlagSet, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	fmt.Fprintln(fs.Output(), err)
	fs.Usage()
	return fmt.Errorf("%w: %w", errUsage, err)
}

// isPostgresURL reports whether a database URL names PostgreSQL.
func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}
