package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/sse/natshub"
)

// The demo's runs (package runs): POST /runs?kind=… starts a producer that
// the server owns, not the request, and answers 201 with its Location,
// /runs/{id}. Any number of clients attach to it there (GET, as Server-Sent
// Events or NDJSON, from its first event or after the last one they had),
// leave and come back; DELETE cancels it. The page keeps the id of its run
// in its URL, so that a reload attaches again and shows the whole output.
//
// Kinds: tokens (a made-up language model's reply, word by word, see
// tokensRun), report (the users table written to a file of the reports
// directory, with progress, see reportRun) and count (numbers, for tests,
// see countRun). With -nats the runs' events and records live in NATS
// JetStream, so that a run started on one instance can be watched, and
// resumed, on any.

// The names of the runs' own events; progress is runs.EventProgress.
const (
	eventToken  = "token"  // kind tokens: the next word, with its leading space
	eventResult = "result" // kind report: the link of the finished file
	eventNumber = "number" // kind count: the next number
)

// runKinds returns the kinds of run POST /runs may start.
func (a *app) runKinds() map[string]handlers.RunKind {
	return map[string]handlers.RunKind{
		"tokens": tokensRun,
		"report": a.reportRun,
		"count":  countRun,
	}
}

// With -nats, the names of the runs' JetStream streams start with
// runHubPrefix (the event streams' with natshub's default), and their
// records are kept in the key-value bucket runBucket.
const (
	runHubPrefix = "RUNS"
	runBucket    = "ginstream-runs"
)

// runTopicMargin is how many events a run's topic keeps besides the
// Manager's MaxItems: the run's own, such as its final event.
const runTopicMargin = 16

// openRuns returns the demo's run manager and a function that closes it
// and releases what it holds: to call at shutdown before the event hub is
// closed (see endStreams), and again, harmlessly, when run returns. Its
// attached streams are configured by events. Without -nats (js nil) the
// Manager keeps runs in memory; with it, its hub is a natshub.Hub of its
// own that keeps a run's events as long as the Manager may need them, and
// its store a natsruns.Store, both shared by every instance (see
// openRunStore).
func openRuns(ctx context.Context, cfg config, js jetstream.JetStream, events sse.EventWriter, logger *slog.Logger) (*runs.Manager, func(), error) {
	m := &runs.Manager{
		MaxRunning:  cfg.maxRuns,
		MaxItems:    runs.DefaultMaxItems,
		MaxDuration: runs.DefaultMaxDuration,
		Retention:   cfg.runRetention,
		Events:      events,
		Logger:      logger,
	}
	if js == nil {
		return m, func() { closeRuns(m, logger) }, nil
	}
	store, err := openRunStore(ctx, js)
	if err != nil {
		return nil, nil, fmt.Errorf("runs: %w", err)
	}
	// Every event of a run is kept as long as the run can be attached,
	// and a client may fall as far behind as the run goes.
	hub := &natshub.Hub{
		JetStream: js,
		Prefix:    runHubPrefix,
		Replay:    m.MaxItems + runTopicMargin,
		ReplayAge: m.MaxDuration + m.Retention,
		Buffer:    m.MaxItems + runTopicMargin,
	}
	m.Hub, m.Store = hub, store
	return m, func() {
		closeRuns(m, logger)
		_ = hub.Close()
	}, nil
}

// closeRuns closes m, which cancels its runs: their attached streams get
// their final event and end.
func closeRuns(m *runs.Manager, logger *slog.Logger) {
	if err := m.Close(); err != nil {
		logger.Warn("closing the runs", "err", err)
	}
}

// serveRuns registers the routes of the runs on r; attached streams are
// counted among the event streams that shutdown waits for.
func (a *app) serveRuns(r *gin.Engine, track gin.HandlerFunc) {
	h := handlers.Runs{Manager: a.runs, Kinds: a.runKinds()}.Handler()
	r.POST("/runs", h)
	r.GET("/runs/:id", track, func(c *gin.Context) { a.eventStreams.serve(c, h) })
	r.DELETE("/runs/:id", h)
}
