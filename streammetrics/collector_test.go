package streammetrics_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/streammetrics"
)

// outcomes are the label values of every sink.Outcome.
var outcomes = []string{"completed", "client_gone", "stalled", "failed", "rejected"}

// server is a gin server whose stream routes report to a new Collector,
// registered in a registry of its own that is served at /metrics.
func server(t *testing.T, routes func(r *gin.Engine, m *streammetrics.Collector, w *sink.Writer[int])) *httptest.Server {
	t.Helper()
	m := streammetrics.NewCollector(streammetrics.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	r := gin.New()
	w := &sink.Writer[int]{Encoder: sink.Lines[int]{}, Config: sink.Config{OnReport: m.Observe, Logger: slog.New(slog.DiscardHandler)}}
	routes(r, m, w)
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// series names a series as the text format writes it: the metric's name
// and its labels, given as name, value pairs, sorted by name.
func series(name string, labels ...string) string {
	var pairs []string
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, labels[i]+"="+strconv.Quote(labels[i+1]))
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// samples flattens metric families into their values by series (see
// series). A histogram gives its _count, its _sum and a _bucket per bound.
func samples(families []*dto.MetricFamily) map[string]float64 {
	s := make(map[string]float64)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName(), l.GetValue())
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				s[series(f.GetName(), labels...)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s[series(f.GetName(), labels...)] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				s[series(f.GetName()+"_count", labels...)] = float64(h.GetSampleCount())
				s[series(f.GetName()+"_sum", labels...)] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					le := strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)
					s[series(f.GetName()+"_bucket", append(labels, "le", le)...)] = float64(b.GetCumulativeCount())
				}
			default:
				s[series(f.GetName(), labels...)] = math.NaN() // no such metric here
			}
		}
	}
	return s
}

// gather returns the samples of g, failing t if it reports an error, such
// as a series collected twice.
func gather(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return samples(families)
}

// scrape reads url as Prometheus does, in the text format, and returns the
// samples, failing t if the answer does not parse.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("status %d, Content-Type %q; want 200 and the text format", res.StatusCode, ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return samples(slices.Collect(maps.Values(families)))
}

// waitForScrape scrapes url until ok accepts the samples, and fails t if
// that does not happen within a generous deadline.
func waitForScrape(t *testing.T, url string, ok func(map[string]float64) bool) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := scrape(t, url)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never reached the expected state; last scrape: %v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCollectorOutcomes streams through a real server once per outcome and
// checks, in what /metrics serves, that the stream is counted under that
// outcome, that its duration is observed, and that bytes, items and
// flushes add up to what the client received.
func TestCollectorOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		route   string
		handler func(w *sink.Writer[int]) gin.HandlerFunc
		client  func(t *testing.T, res *http.Response) // reads (part of) the body
		outcome string
		bytes   float64 // body bytes, or -1 for some but not all
		items   float64
	}{
		{
			name:  "completed",
			route: "/count",
			handler: func(w *sink.Writer[int]) gin.HandlerFunc {
				return func(c *gin.Context) { w.Stream(c, generator.Count(12, 0)) }
			},
			client:  readAll("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"),
			outcome: "completed", bytes: 27, items: 12,
		},
		{
			name:  "failed before the first byte",
			route: "/broken",
			handler: func(w *sink.Writer[int]) gin.HandlerFunc {
				return func(c *gin.Context) {
					w.Stream(c, func(context.Context, func(int) error) error { return errors.New("no numbers today") })
				}
			},
			client:  wantStatus(http.StatusInternalServerError),
			outcome: "failed", bytes: 0, items: 0,
		},
		{
			name:  "client gone mid-stream",
			route: "/endless",
			handler: func(w *sink.Writer[int]) gin.HandlerFunc {
				return func(c *gin.Context) { w.Stream(c, generator.Count(1<<30, time.Millisecond)) }
			},
			client:  readLineAndLeave,
			outcome: "client_gone", bytes: -1,
		},
		{
			name:  "rejected by the limit",
			route: "/full",
			handler: func(w *sink.Writer[int]) gin.HandlerFunc {
				full := *w
				full.Limit = sink.NewLimit(0, time.Second)
				return func(c *gin.Context) { full.Stream(c, generator.Count(1, 0)) }
			},
			client:  wantStatus(http.StatusServiceUnavailable),
			outcome: "rejected", bytes: 0, items: 0,
		},
	}
	srv := server(t, func(r *gin.Engine, m *streammetrics.Collector, w *sink.Writer[int]) {
		for _, tt := range tests {
			r.GET(tt.route, m.Track, tt.handler(w))
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.route)
			if err != nil {
				t.Fatal(err)
			}
			tt.client(t, res)
			res.Body.Close()

			// The report arrives when the handler returns, which for a
			// client that left is some time after it left.
			ended := series("ginstream_streams_total", "route", tt.route, "outcome", tt.outcome)
			active := series("ginstream_active_streams", "route", tt.route)
			waitForScrape(t, srv.URL+"/metrics", func(s map[string]float64) bool {
				return s[ended] == 1 && s[active] == 0
			})
			// A scrape lists a vector's series when it collects it and
			// reads their values later: the outcome's duration series,
			// created by the report, can be missing from a scrape that
			// reads the stream counted and the handler returned (CI saw
			// "duration observations = 0"). The handler had returned
			// before that scrape ended, so the next one has it all.
			got := scrape(t, srv.URL+"/metrics")
			for _, o := range outcomes {
				if o == tt.outcome {
					continue
				}
				if s := series("ginstream_streams_total", "route", tt.route, "outcome", o); got[s] != 0 {
					t.Errorf("%s = %v, want 0", s, got[s])
				} else if _, ok := got[s]; !ok {
					t.Errorf("%s missing: every outcome of a route seen is exported", s)
				}
			}
			if n := got[series("ginstream_stream_duration_seconds_count", "route", tt.route, "outcome", tt.outcome)]; n != 1 {
				t.Errorf("duration observations = %v, want 1", n)
			}
			if d := got[series("ginstream_stream_duration_seconds_sum", "route", tt.route, "outcome", tt.outcome)]; d < 0 || d > 10 {
				t.Errorf("duration = %vs, want the stream's few milliseconds", d)
			}
			bytes := got[series("ginstream_stream_bytes_total", "route", tt.route)]
			items := got[series("ginstream_stream_items_total", "route", tt.route)]
			flushes := got[series("ginstream_stream_flushes_total", "route", tt.route)]
			if tt.bytes >= 0 && (bytes != tt.bytes || items != tt.items) {
				t.Errorf("bytes, items = %v, %v; want %v, %v", bytes, items, tt.bytes, tt.items)
			}
			if tt.bytes < 0 && (bytes == 0 || items == 0) {
				t.Errorf("bytes, items = %v, %v; want the part streamed before the client left", bytes, items)
			}
			if (bytes > 0) != (flushes > 0) {
				t.Errorf("flushes = %v with %v bytes", flushes, bytes)
			}
		})
	}
}

// readAll returns a client that reads the whole body and checks it.
func readAll(want string) func(*testing.T, *http.Response) {
	return func(t *testing.T, res *http.Response) {
		body, err := io.ReadAll(res.Body)
		if err != nil || string(body) != want {
			t.Fatalf("body = %q, %v; want %q", body, err, want)
		}
	}
}

// wantStatus returns a client that checks the status only.
func wantStatus(code int) func(*testing.T, *http.Response) {
	return func(t *testing.T, res *http.Response) {
		if res.StatusCode != code {
			t.Fatalf("status = %d, want %d", res.StatusCode, code)
		}
	}
}

// readLineAndLeave reads one line; the caller's closing the body then
// closes the connection mid-stream.
func readLineAndLeave(t *testing.T, res *http.Response) {
	if _, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
}

// TestCollectorActiveStreams checks the gauge: one per tracked request
// while it runs, zero once it has returned, absent for untracked routes
// (whose streams are counted all the same), and no stream series before
// the first request.
func TestCollectorActiveStreams(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	srv := server(t, func(r *gin.Engine, m *streammetrics.Collector, w *sink.Writer[int]) {
		r.GET("/hold/:id", m.Track, func(c *gin.Context) {
			entered <- struct{}{}
			<-release
			c.String(http.StatusOK, "done")
		})
		r.GET("/untracked", func(c *gin.Context) { w.Stream(c, generator.Count(3, 0)) })
	})
	gauge := series("ginstream_active_streams", "route", "/hold/:id")
	if s := scrape(t, srv.URL+"/metrics"); len(s) != 0 {
		t.Fatalf("metrics before any request: %v, want none", s)
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range 2 {
		wg.Go(func() {
			res, err := http.Get(fmt.Sprintf("%s/hold/%d", srv.URL, i))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		})
	}
	<-entered
	<-entered
	s := scrape(t, srv.URL+"/metrics")
	if s[gauge] != 2 {
		t.Errorf("%s = %v while two requests run, want 2 (one series for the route pattern)", gauge, s[gauge])
	}
	if n, ok := s[series("ginstream_streams_total", "route", "/hold/:id", "outcome", "client_gone")]; !ok || n != 0 {
		t.Errorf("client_gone streams of a tracked route = %v (present %v) before any report, want a series at 0", n, ok)
	}
	res, err := http.Get(srv.URL + "/untracked")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	close(release)
	wg.Wait()
	s = scrape(t, srv.URL+"/metrics")
	if s[gauge] != 0 {
		t.Errorf("%s = %v after the requests, want 0", gauge, s[gauge])
	}
	if g, ok := s[series("ginstream_active_streams", "route", "/untracked")]; ok {
		t.Errorf("untracked route's gauge = %v, want no series", g)
	}
	if n := s[series("ginstream_streams_total", "route", "/untracked", "outcome", "completed")]; n != 1 {
		t.Errorf("untracked route's completed streams = %v, want 1 (Observe counts without Track)", n)
	}
}

// TestCollectorRouteLabel checks that the route label is the route's
// pattern, escaped in the exposition as the format requires, and
// "unmatched" for requests that match no route: never the path requested.
func TestCollectorRouteLabel(t *testing.T) {
	srv := server(t, func(r *gin.Engine, m *streammetrics.Collector, w *sink.Writer[int]) {
		stream := func(c *gin.Context) { w.Stream(c, generator.Count(1, 0)) }
		r.GET("/users/:id/numbers", m.Track, stream)
		r.GET(`/say/"hi"`, m.Track, stream) // gin patterns cannot hold \ or a newline
		r.GET("/files/*path", m.Track, stream)
		r.NoRoute(m.Track, stream)
	})
	tests := []struct {
		path  string
		route string
	}{
		{"/users/1/numbers", "/users/:id/numbers"},
		{"/users/2/numbers", "/users/:id/numbers"},
		{"/say/%22hi%22", `/say/"hi"`},
		{"/files/a/b.txt", "/files/*path"},
		{"/nope", "unmatched"},
		{"/nope/again", "unmatched"},
	}
	want := make(map[string]float64)
	for _, tt := range tests {
		res, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		want[tt.route]++
	}
	s := scrape(t, srv.URL+"/metrics")
	for route, n := range want {
		if got := s[series("ginstream_streams_total", "route", route, "outcome", "completed")]; got != n {
			t.Errorf("completed streams of route %q = %v, want %v", route, got, n)
		}
	}
	label := regexp.MustCompile(`route="((?:[^"\\]|\\.)*)"`)
	for name := range s {
		m := label.FindStringSubmatch(name)
		route, err := strconv.Unquote(`"` + m[1] + `"`)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := want[route]; !ok {
			t.Errorf("series %s has a route label that is not a pattern", name)
		}
	}
}

// TestCollectorNextToGoCollector registers the Collector in one registry
// with the client library's Go and process collectors, configured as an
// app would (the demo does the same): the registry must gather without
// error, which it would not with a series twice, and serve the Go
// collector's series that cmd/streamload reads.
func TestCollectorNextToGoCollector(t *testing.T) {
	m := streammetrics.NewCollector(streammetrics.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)},
		)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m,
	)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	m.Track(c)
	m.Observe(c, sink.Report{Outcome: sink.Completed, Items: 2, Bytes: 4, Flushes: 1, Duration: time.Second})
	s := gather(t, reg)
	for _, name := range []string{
		"go_goroutines{}", "go_memstats_heap_inuse_bytes{}", "go_gc_heap_live_bytes{}",
		series("ginstream_streams_total", "route", "unmatched", "outcome", "completed"),
		series("ginstream_active_streams", "route", "unmatched"),
	} {
		if _, ok := s[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}

	// The Collector describes only its own series.
	descs := make(chan *prometheus.Desc)
	go func() {
		m.Describe(descs)
		close(descs)
	}()
	for d := range descs {
		if !strings.Contains(d.String(), `fqName: "ginstream_`) {
			t.Errorf("the Collector describes %v, want only ginstream_ series", d)
		}
	}

	// The control: a registry refuses a second collector of the same
	// series; one with a namespace of its own is welcome.
	if err := reg.Register(streammetrics.NewCollector(streammetrics.Options{})); err == nil {
		t.Error("a second Collector with the same namespace was registered")
	}
	if err := reg.Register(collectors.NewGoCollector()); err == nil {
		t.Error("a second Go collector was registered")
	}
	if err := reg.Register(streammetrics.NewCollector(streammetrics.Options{Namespace: "admin"})); err != nil {
		t.Errorf("a Collector with another namespace: %v", err)
	}
	gather(t, reg)
}

// TestCollectorReports observes reports directly and checks the values
// they give, including ones that cannot happen but must not panic.
func TestCollectorReports(t *testing.T) {
	m := streammetrics.NewCollector(streammetrics.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	for _, r := range []sink.Report{
		{Outcome: sink.Completed, Items: 3, Bytes: 30, Flushes: 2, Duration: 2 * time.Second},
		{Outcome: sink.Stalled, Items: 1, Bytes: 10, Flushes: 1, Duration: 40 * time.Minute},
		{Outcome: sink.Outcome(42), Items: -1, Bytes: -1, Flushes: -1, Duration: -time.Second},
	} {
		m.Observe(c, r)
	}
	s := gather(t, reg)
	want := map[string]float64{
		series("ginstream_streams_total", "route", "unmatched", "outcome", "completed"):                               1,
		series("ginstream_streams_total", "route", "unmatched", "outcome", "stalled"):                                 1,
		series("ginstream_streams_total", "route", "unmatched", "outcome", "unknown"):                                 1,
		series("ginstream_streams_total", "route", "unmatched", "outcome", "failed"):                                  0,
		series("ginstream_stream_items_total", "route", "unmatched"):                                                  4,
		series("ginstream_stream_bytes_total", "route", "unmatched"):                                                  40,
		series("ginstream_stream_flushes_total", "route", "unmatched"):                                                3,
		series("ginstream_stream_duration_seconds_sum", "route", "unmatched", "outcome", "completed"):                 2,
		series("ginstream_stream_duration_seconds_bucket", "route", "unmatched", "outcome", "completed", "le", "1"):   0,
		series("ginstream_stream_duration_seconds_bucket", "route", "unmatched", "outcome", "completed", "le", "2.5"): 1,
		series("ginstream_stream_duration_seconds_bucket", "route", "unmatched", "outcome", "stalled", "le", "1800"):  0,
		series("ginstream_stream_duration_seconds_bucket", "route", "unmatched", "outcome", "stalled", "le", "3600"):  1,
		series("ginstream_stream_duration_seconds_count", "route", "unmatched", "outcome", "unknown"):                 1,
	}
	for name, n := range want {
		if got, ok := s[name]; !ok || got != n {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, n)
		}
	}
}

// TestCollectorConcurrent tracks, reports and gathers from many goroutines
// at once (run it with -race) and checks that no count is lost.
func TestCollectorConcurrent(t *testing.T) {
	m := streammetrics.NewCollector(streammetrics.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	const goroutines, reports = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range reports {
				c, _ := gin.CreateTestContext(httptest.NewRecorder())
				m.Track(c)
				m.Observe(c, sink.Report{Outcome: sink.Outcome(i % 2), Bytes: 10, Items: 2, Flushes: 1, Duration: time.Millisecond})
				if i%100 == g {
					if _, err := reg.Gather(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	s := gather(t, reg)
	want := map[string]float64{
		series("ginstream_active_streams", "route", "unmatched"):                                        0,
		series("ginstream_streams_total", "route", "unmatched", "outcome", "completed"):                 goroutines * reports / 2,
		series("ginstream_streams_total", "route", "unmatched", "outcome", "client_gone"):               goroutines * reports / 2,
		series("ginstream_stream_duration_seconds_count", "route", "unmatched", "outcome", "completed"): goroutines * reports / 2,
		series("ginstream_stream_bytes_total", "route", "unmatched"):                                    goroutines * reports * 10,
		series("ginstream_stream_items_total", "route", "unmatched"):                                    goroutines * reports * 2,
		series("ginstream_stream_flushes_total", "route", "unmatched"):                                  goroutines * reports,
	}
	for name, n := range want {
		if got, ok := s[name]; !ok || got != n {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, n)
		}
	}
}

// TestNewCollectorOptions checks what each option changes in the series.
func TestNewCollectorOptions(t *testing.T) {
	tests := []struct {
		name string
		opts streammetrics.Options
		want []string // series that must exist after one completed stream
	}{
		{
			name: "defaults",
			want: []string{
				series("ginstream_streams_total", "route", "unmatched", "outcome", "completed"),
				series("ginstream_stream_duration_seconds_bucket", "route", "unmatched", "outcome", "completed", "le", "0.005"),
				series("ginstream_stream_duration_seconds_bucket", "route", "unmatched", "outcome", "completed", "le", "10800"),
			},
		},
		{
			name: "namespace",
			opts: streammetrics.Options{Namespace: "export"},
			want: []string{series("export_streams_total", "route", "unmatched", "outcome", "completed")},
		},
		{
			name: "buckets",
			opts: streammetrics.Options{Buckets: []float64{1, 60}},
			want: []string{series("ginstream_stream_duration_seconds_bucket", "route", "unmatched", "outcome", "completed", "le", "60")},
		},
		{
			name: "constant labels",
			opts: streammetrics.Options{ConstLabels: prometheus.Labels{"server": "admin"}},
			want: []string{
				series("ginstream_streams_total", "route", "unmatched", "outcome", "completed", "server", "admin"),
				series("ginstream_active_streams", "route", "unmatched", "server", "admin"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := streammetrics.NewCollector(tt.opts)
			reg := prometheus.NewRegistry()
			reg.MustRegister(m)
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			m.Track(c)
			m.Observe(c, sink.Report{Outcome: sink.Completed})
			s := gather(t, reg)
			for _, name := range tt.want {
				if _, ok := s[name]; !ok {
					t.Errorf("%s missing; have %v", name, slices.Sorted(maps.Keys(s)))
				}
			}
			buckets := 0
			for name := range s {
				if strings.Contains(name, "_bucket{") {
					buckets++
				}
			}
			// (The +Inf bucket is implicit in what a registry gathers.)
			if n := len(tt.opts.Buckets); n > 0 && buckets != n {
				t.Errorf("%d buckets, want %d", buckets, n)
			}
			if len(tt.opts.Buckets) == 0 && buckets != len(streammetrics.DefaultBuckets) {
				t.Errorf("%d buckets, want DefaultBuckets' %d", buckets, len(streammetrics.DefaultBuckets))
			}
		})
	}
}

// TestNewCollectorMistakes checks that mistakes in the options show at set
// up, never while streams are served.
func TestNewCollectorMistakes(t *testing.T) {
	for _, buckets := range [][]float64{{60, 1}, {1, 1}, {1, math.NaN()}} {
		t.Run(fmt.Sprintf("buckets %v panic", buckets), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewCollector accepted buckets %v", buckets)
				}
			}()
			streammetrics.NewCollector(streammetrics.Options{Buckets: buckets})
		})
	}
	t.Run("a constant label named route fails to register", func(t *testing.T) {
		m := streammetrics.NewCollector(streammetrics.Options{ConstLabels: prometheus.Labels{"route": "x"}})
		if err := prometheus.NewRegistry().Register(m); err == nil {
			t.Error("Register accepted a constant label that is also a variable label")
		}
	})
}
