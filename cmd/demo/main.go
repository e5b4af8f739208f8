// Command demo serves ginstream's streams on one port, with a page to watch
// them in a browser. It runs with no configuration:
//
//	go run ./cmd/demo
//
// and prints the URL to open (http://localhost:8080/). It keeps its files in
// a data directory (./data unless -data or DATA_DIR says otherwise), which it
// creates on first start: a SQLite database seeded with 100,000 users, a
// sample report, and a log file it keeps appending to. With -db or
// DATABASE_URL set to a postgres:// URL it uses PostgreSQL instead, seeding
// the same users if the table is missing.
//
// Routes:
//
//	GET /                                  the page
//	GET /stream/numbers?count=&interval=   numbers 1..count, one every interval ms (defaults 100 and 20)
//	GET /reports/:name                     files of the data directory's reports/
//	GET /export/users.csv                  every user as CSV, streamed from a database cursor
//	GET /stream/logs?lines=                the demo log, followed like tail -f; as Server-Sent
//	                                       Events when the request accepts text/event-stream
//	GET /events?topic=                     Server-Sent Events of topic ticks (the default) or orders,
//	                                       or private with &ticket= (see below)
//	GET /events/ticket?topic=private       a short-lived signed ticket for the private topic
//	GET /proxy/numbers                     this server's /stream/numbers (with its defaults), proxied
//	POST /runs?kind=                       starts a run of kind tokens, report or count: 201 with
//	                                       Location /runs/{id}, the same for a repeated Idempotency-Key
//	GET /runs/{id}                         attaches to a run: Server-Sent Events when the request
//	                                       accepts text/event-stream, NDJSON otherwise (runs.go)
//	DELETE /runs/{id}                      cancels a run
//	GET /metrics                           Prometheus metrics of the streams
//
// The event streams resume where they left off when the browser's
// EventSource reconnects (it sends the Last-Event-ID of the last event it
// received); after a restart of the demo, whose events live in memory, a
// browser that comes back gets a "reset" event instead. With -nats the
// events live in NATS JetStream instead (see nats.go): several instances
// share them, and a browser resumes on any instance, across restarts.
//
// SIGINT or SIGTERM shuts the server down: runs are cancelled (their
// attached streams get their final event), event streams end with a
// "shutdown" event that tells browsers when to reconnect, other open
// streams end, the log writer stops, and the process exits within
// -shutdown-timeout. Run with -h for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/streammetrics"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2) // the usage has been printed
	default:
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run runs the demo with the given command-line arguments (without the
// program name) and environment, logging to stdout, until ctx ends; then it
// shuts down gracefully. It returns flag.ErrHelp after printing the usage
// for -h, and an error matching errUsage for bad arguments.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))
	gin.SetMode(gin.ReleaseMode)

	if err := prepareDataDir(cfg.dataDir); err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	seeded, err := db.seedUsers(ctx, cfg.users)
	if err != nil {
		return err
	}
	logger.Info("database ready", "database", db.name, "seeded", seeded)

	reports, err := os.OpenRoot(filepath.Join(cfg.dataDir, reportsDir))
	if err != nil {
		return err
	}
	defer reports.Close()

	appender := &logAppender{
		path:     filepath.Join(cfg.dataDir, logFile),
		interval: cfg.logInterval,
		maxBytes: cfg.logMaxBytes,
		logger:   logger,
	}
	// The log exists before the first request can ask to follow it; the
	// appender's run closes it.
	if err := appender.open(); err != nil {
		return fmt.Errorf("demo log: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		appender.close()
		return err
	}
	// The hub of the event streams (in memory, or NATS JetStream with
	// -nats; see nats.go): serve's shutdown closes it first (see
	// endEventStreams); the deferred release covers a failure to serve,
	// and then disconnects from NATS.
	hub, js, releaseHub, err := openHub(cfg, logger)
	if err != nil {
		ln.Close()
		appender.close()
		return err
	}
	defer releaseHub()
	a := &app{
		db:       db,
		reports:  reports,
		logPath:  appender.path,
		upstream: upstreamURL(ln.Addr()),
		proxy:    newProxyClient(),
		metrics:  streammetrics.NewCollector(streammetrics.Options{}),
		logger:   logger,
		out:      stdout,
		hub:      hub,
	}
	// The settings every stream shares, set once for every route.
	a.streams = sink.Config{StallTimeout: cfg.stallTimeout, MaxDuration: cfg.maxDuration, OnReport: a.metrics.Observe, Logger: logger}
	if cfg.maxStreams > 0 {
		// One client (by its address: the demo trusts no proxy header)
		// may hold a small share of the streams, so that it cannot take
		// them all from the others.
		a.streams.Limit = sink.NewLimit(cfg.maxStreams, streamRetryAfter).PerClient(cfg.maxPerClient, nil)
	}
	a.logEvents = &handlers.LogEvents{Path: appender.path, Hub: hub, Retry: eventRetry, Config: a.streams}
	// The runs (see runs.go): serve's shutdown closes their Manager before
	// the hub (see endEventStreams); the deferred release covers a failure
	// to serve, and runs before releaseHub disconnects from NATS.
	var releaseRuns func()
	a.runs, releaseRuns, err = openRuns(ctx, cfg, js, sse.EventWriter{Config: a.streams, Retry: eventRetry}, logger)
	if err != nil {
		ln.Close()
		appender.close()
		return err
	}
	defer releaseRuns()
	defer a.proxy.CloseIdleConnections()
	events := &publisher{hub: hub, interval: cfg.eventInterval, logger: logger}
	s := &server{
		handler:           a.routes(),
		shutdownTimeout:   cfg.shutdownTimeout,
		readHeaderTimeout: cfg.readHeaderTimeout,
		h2c:               cfg.h2c,
		logger:            logger,
		endStreams:        a.endEventStreams,
	}
	background := []func(context.Context){appender.run}
	if cfg.publish {
		background = append(background, events.run, func(ctx context.Context) { runLogEvents(ctx, a.logEvents, logger) })
	}
	return s.serve(ctx, ln, func() {
		fmt.Fprintf(stdout, "ginstream demo: open %s/ in a browser\n", displayURL(ln.Addr()))
	}, background...)
}
