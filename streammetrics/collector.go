// Package streammetrics counts ginstream's streams as Prometheus metrics,
// through the official client library
// (github.com/prometheus/client_golang), for an app to register in its own
// registry next to its other collectors.
//
// A [Collector] gets the [sink.Report] of every stream that ends, through
// [Collector.Observe], and watches the requests running on the routes that
// stream, through the gin middleware [Collector.Track]:
//
//	streams := streammetrics.NewCollector(streammetrics.Options{})
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(
//		collectors.NewGoCollector(),
//		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
//		streams,
//	)
//
//	w := &sink.Writer[int]{Encoder: sink.Lines[int]{}, Config: sink.Config{OnReport: streams.Observe}}
//	r.GET("/stream/numbers", streams.Track, func(c *gin.Context) { w.Stream(c, producer) })
//	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
//
// The series, with the default namespace "ginstream":
//
//	ginstream_active_streams{route}                   gauge: requests running on tracked routes
//	ginstream_streams_total{route,outcome}            counter: streams ended, by sink.Outcome
//	ginstream_stream_duration_seconds{route,outcome}  histogram: how long streams ran
//	ginstream_stream_items_total{route}               counter: items encoded
//	ginstream_stream_bytes_total{route}               counter: body bytes accepted by clients
//	ginstream_stream_flushes_total{route}             counter: batches written and flushed
//
// The route label is the gin route pattern ([gin.Context.FullPath], such as
// "/reports/:name"), or [Unmatched] for a request that matched no route
// (one served by a NoRoute handler): never the request's path, so that the
// number of series stays bounded whatever the requests. The outcome label
// is [sink.Outcome.String]. A route's counters and, with Track, its gauge
// exist from the first time the Collector sees the route, every outcome at
// zero, so that a rate or an alert on a series works before its first
// event; a duration series exists from its first stream.
//
// The duration is the report's ([sink.Report] Duration): from the call that
// streams until its return, rejected streams included.
//
// The Collector exports no process or Go runtime series: those belong to
// the collectors of the client library (collectors.NewGoCollector and
// collectors.NewProcessCollector), which the app registers once, so that a
// registry holds no series twice. Observe and Track never fail and never
// block on a scrape; mistakes in [Options] show when the Collector is
// created or registered, never while streams are served.
package streammetrics

import (
	"fmt"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ginstream/ginstream/sink"
)

// DefaultBuckets are the upper bounds, in seconds, of the stream duration
// histogram's buckets when [Options] leaves Buckets empty: from 5ms, for a
// short stream or a rejected one, to 3h, for a feed a client keeps open.
var DefaultBuckets = []float64{
	0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, // up to half a minute
	60, 300, 900, 1800, 3600, 3 * 3600, // up to three hours
}

// Unmatched is the route label of a request that matched no route. No
// route pattern can be the same, since a pattern begins with a slash.
const Unmatched = "unmatched"

// Options configure a [Collector]. The zero value gives the defaults.
type Options struct {
	// Namespace is the first part of every metric name, as in
	// "ginstream_streams_total". Empty means "ginstream".
	Namespace string

	// Buckets are the upper bounds, in seconds and in increasing order, of
	// the buckets of the stream duration histogram, which adds one for
	// +Inf. Empty means DefaultBuckets.
	Buckets []float64

	// ConstLabels are labels with fixed values added to every series, such
	// as the name of one of several servers sharing a process. They must
	// not be named "route" or "outcome".
	ConstLabels prometheus.Labels
}

// Collector counts streams by route and outcome. It is a
// prometheus.Collector: register it in the app's registry. Create one with
// [NewCollector]; it is safe for concurrent use.
type Collector struct {
	active   *prometheus.GaugeVec     // route
	streams  *prometheus.CounterVec   // route, outcome
	duration *prometheus.HistogramVec // route, outcome
	items    *prometheus.CounterVec   // route
	bytes    *prometheus.CounterVec   // route
	flushes  *prometheus.CounterVec   // route

	seen sync.Map // route label → struct{}: routes whose counters exist
}

// NewCollector returns a Collector configured by opts. It panics if the
// Buckets are not in increasing order. A Namespace or ConstLabels that
// Prometheus does not accept make the registry's Register fail.
func NewCollector(opts Options) *Collector {
	ns := opts.Namespace
	if ns == "" {
		ns = "ginstream"
	}
	buckets := opts.Buckets
	if len(buckets) == 0 {
		buckets = DefaultBuckets
	}
	// The client library would panic at the first stream observed, when
	// it creates the route's histogram: panic now, at set-up.
	for i := 1; i < len(buckets); i++ {
		if !(buckets[i-1] < buckets[i]) {
			panic(fmt.Sprintf("streammetrics: Buckets not in increasing order: %v", buckets))
		}
	}
	byRoute := []string{"route"}
	byOutcome := []string{"route", "outcome"}
	return &Collector{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "active_streams", ConstLabels: opts.ConstLabels,
			Help: "Requests running on routes that stream.",
		}, byRoute),
		streams: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "streams_total", ConstLabels: opts.ConstLabels,
			Help: "Streams ended, by outcome.",
		}, byOutcome),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "stream_duration_seconds", ConstLabels: opts.ConstLabels,
			Help:    "How long streams ran, by outcome.",
			Buckets: buckets,
		}, byOutcome),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "stream_items_total", ConstLabels: opts.ConstLabels,
			Help: "Items encoded by streams.",
		}, byRoute),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "stream_bytes_total", ConstLabels: opts.ConstLabels,
			Help: "Body bytes of streams accepted by clients.",
		}, byRoute),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "stream_flushes_total", ConstLabels: opts.ConstLabels,
			Help: "Batches written and flushed by streams.",
		}, byRoute),
	}
}

// vecs returns the metric vectors of c.
func (c *Collector) vecs() []prometheus.Collector {
	return []prometheus.Collector{c.active, c.streams, c.duration, c.items, c.bytes, c.flushes}
}

// Describe sends the descriptions of c's metrics, as prometheus.Collector
// requires.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, v := range c.vecs() {
		v.Describe(ch)
	}
}

// Collect sends the current values of c's series, as prometheus.Collector
// requires.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.vecs() {
		v.Collect(ch)
	}
}

// Observe counts a stream that has ended. Its signature is that of a
// report hook such as [sink.Writer]'s OnReport, so that c.Observe can be
// assigned to one; it needs no Track in front of the route.
func (c *Collector) Observe(ctx *gin.Context, r sink.Report) {
	route := c.see(ctx)
	outcome := r.Outcome.String()
	c.streams.WithLabelValues(route, outcome).Inc()
	c.duration.WithLabelValues(route, outcome).Observe(r.Duration.Seconds())
	// A counter panics if it is decreased; a report's counts never are
	// negative, and a report hook must not panic if one ever were.
	if r.Items > 0 {
		c.items.WithLabelValues(route).Add(float64(r.Items))
	}
	if r.Bytes > 0 {
		c.bytes.WithLabelValues(route).Add(float64(r.Bytes))
	}
	if r.Flushes > 0 {
		c.flushes.WithLabelValues(route).Add(float64(r.Flushes))
	}
}

// Track is gin middleware that counts the requests it wraps in the
// active-streams gauge while they run, panics included. Put it in front of
// handlers that stream; it counts a request that ends before streaming (a
// 400 for a bad parameter, say) for the time it takes.
func (c *Collector) Track(ctx *gin.Context) {
	active := c.active.WithLabelValues(c.see(ctx))
	active.Inc()
	defer active.Dec()
	ctx.Next()
}

// see returns the route label of ctx, and creates the route's counters, at
// zero, the first time it sees the route.
func (c *Collector) see(ctx *gin.Context) string {
	route := ctx.FullPath()
	if route == "" {
		route = Unmatched
	}
	if _, loaded := c.seen.LoadOrStore(route, struct{}{}); !loaded {
		for o := sink.Completed; o <= sink.Rejected; o++ {
			c.streams.WithLabelValues(route, o.String())
		}
		c.items.WithLabelValues(route)
		c.bytes.WithLabelValues(route)
		c.flushes.WithLabelValues(route)
	}
	return route
}
