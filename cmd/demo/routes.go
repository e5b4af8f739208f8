package main

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/streammetrics"
)

// app is what the routes need.
type app struct {
	db       *database
	reports  *os.Root     // the data directory's reports
	logPath  string       // the demo log
	upstream string       // this server's base URL, for /proxy/numbers
	proxy    *http.Client // for /proxy/numbers; its idle connections are closed at shutdown
	metrics  *streammetrics.Collector
	streams  sink.Config // what every stream shares: limit, stall timeout, metrics, logger
	logger   *slog.Logger
	out      io.Writer // for gin's panic recovery

	hub          sse.Hub             // the topics of /events and the demo log's lines; closed at shutdown
	logEvents    *handlers.LogEvents // /stream/logs for EventSource; its Run publishes the lines
	eventStreams streamGroup         // the event streams running, for shutdown to wait for
	runs         *runs.Manager       // the runs of /runs; closed at shutdown before hub
}

// routes returns the demo's routes. Every stream reports to the metrics,
// and the routes that stream are tracked by its active-streams gauge.
func (a *app) routes() *gin.Engine {
	r := gin.New()
	r.Use(gin.RecoveryWithWriter(a.out), a.accessLog)
	track := a.metrics.Track

	// A wrong method gets 405 with Allow, OPTIONS the Allow list (RFC
	// 9110, sections 15.5.6 and 9.3.7); HEAD is answered where it is cheap
	// (the page, its files, the reports), and is a 405 on the streams.
	r.HandleMethodNotAllowed = true
	r.NoMethod(answerOptions)
	r.GET("/", servePage)
	r.HEAD("/", servePage)
	r.GET("/static/:name", serveStatic)
	r.HEAD("/static/:name", serveStatic)
	r.GET("/metrics", gin.WrapH(metricsHandler(a.metrics)))

	// Downloads and the log are compressed when the client accepts it.
	compressed := a.streams
	compressed.Compress = true

	r.GET("/stream/numbers", track, handlers.Numbers{Config: a.streams}.Handler())

	reports := handlers.Files{Root: a.reports, Attachment: true}.Handler()
	r.GET("/reports/:name", reports)
	r.HEAD("/reports/:name", reports)

	users := handlers.Export{DB: a.db.DB, Query: usersQuery, Filename: "users.csv", Config: compressed}
	r.GET("/export/users.csv", track, users.Handler())

	// The private topic of /events needs a ticket, which its page gets
	// from /events/ticket (see eventTickets).
	tickets := newEventTickets()
	events := handlers.Events{Hub: a.hub, Topics: eventTopics, Authorize: tickets.authorize, Retry: eventRetry, Config: a.streams}.Handler()
	r.GET("/events", track, func(c *gin.Context) { a.eventStreams.serve(c, events) })
	r.GET("/events/ticket", tickets.issue)

	// The demo log: as text for curl and fetch, as events for EventSource.
	// With ?lines=0 on a quiet log, the text client still learns at once
	// that the stream is open.
	logText := compressed
	logText.HeaderTimeout = 500 * time.Millisecond
	logs := handlers.Tail{Path: a.logPath, Config: logText}.Handler()
	logEvents := a.logEvents.Handler()
	r.GET("/stream/logs", track, func(c *gin.Context) {
		c.Header("Vary", "Accept")
		if handlers.WantsEventStream(c.Request) {
			a.eventStreams.serve(c, logEvents)
			return
		}
		logs(c)
	})

	// The proxy's upstream is this server's own numbers stream, at the
	// address it listens on: configuration, never request input.
	proxy := handlers.Proxy{URL: a.upstream + "/stream/numbers", Client: a.proxy, Config: a.streams}
	r.GET("/proxy/numbers", track, proxy.Handler())

	a.serveRuns(r, track)

	r.NoRoute(func(c *gin.Context) { c.String(http.StatusNotFound, "404 page not found") })
	return r
}

// answerOptions answers OPTIONS for a path that other methods serve: 204
// with the Allow header gin has set, plus OPTIONS. Other methods are left
// to gin's 405.
func answerOptions(c *gin.Context) {
	if c.Request.Method != http.MethodOptions {
		return
	}
	h := c.Writer.Header()
	h.Set("Allow", h.Get("Allow")+", OPTIONS")
	c.Status(http.StatusNoContent)
	c.Writer.WriteHeaderNow()
}

// newProxyClient returns the client of /proxy/numbers: a transport of its
// own (so that shutdown can close its connections) that never goes through
// an HTTP proxy, and redirects passed on to the client rather than followed.
func newProxyClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// accessLog logs every request once it has been answered.
func (a *app) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	a.logger.LogAttrs(c.Request.Context(), slog.LevelInfo, "request",
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Int("bytes", max(c.Writer.Size(), 0)),
		slog.Duration("duration", time.Since(start)),
	)
}
