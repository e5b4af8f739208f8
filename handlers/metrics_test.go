package handlers_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/sink"
)

// metricsServer is a gin server whose stream routes report to m, with m
// served at /metrics.
func metricsServer(t *testing.T, m *handlers.Metrics, routes func(r *gin.Engine, w *sink.Writer[int])) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	w := &sink.Writer[int]{Encoder: sink.Lines[int]{}, Config: sink.Config{OnReport: m.OnReport, Logger: slog.New(slog.DiscardHandler)}}
	routes(r, w)
	r.GET("/metrics", gin.WrapH(m))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// scrape reads the metrics at url and returns each sample's value by its
// series ("name{labels}"), failing t if the text is not valid exposition
// format 0.0.4 (see checkExposition).
func scrapeMetrics(t *testing.T, url string) map[string]int64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Header.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8"; got != want {
		t.Fatalf("Content-Type = %q, want %q", got, want)
	}
	return checkExposition(t, string(body))
}

var (
	metricsHelpLine   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$`)
	metricsTypeLine   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$`)
	metricsSampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9]+)$`)
)

// checkExposition checks text against the Prometheus text format 0.0.4 as
// Metrics writes it — HELP then TYPE before each family's samples, label
// values escaped, no series twice, counters not negative, a final newline
// — and returns the samples.
func checkExposition(t *testing.T, text string) map[string]int64 {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("exposition does not end in a newline:\n%s", text)
	}
	samples := make(map[string]int64)
	types := make(map[string]string)
	var help, family string
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if m := metricsHelpLine.FindStringSubmatch(line); m != nil {
			help = m[1]
			continue
		}
		if m := metricsTypeLine.FindStringSubmatch(line); m != nil {
			if m[1] != help {
				t.Fatalf("line %d: TYPE of %s without its HELP just before:\n%s", i+1, m[1], text)
			}
			if _, dup := types[m[1]]; dup {
				t.Fatalf("line %d: family %s twice:\n%s", i+1, m[1], text)
			}
			family, types[m[1]] = m[1], m[2]
			continue
		}
		m := metricsSampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("line %d is not valid exposition format: %q\n%s", i+1, line, text)
		}
		if m[1] != family {
			t.Fatalf("line %d: sample of %s outside its family (%s):\n%s", i+1, m[1], family, text)
		}
		series := m[1] + m[2]
		if _, dup := samples[series]; dup {
			t.Fatalf("line %d: series %s twice:\n%s", i+1, series, text)
		}
		v, err := strconv.ParseInt(m[3], 10, 64)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if types[family] == "counter" && v < 0 {
			t.Fatalf("line %d: negative counter: %q", i+1, line)
		}
		samples[series] = v
	}
	return samples
}

// TestMetricsOutcomes streams through a real server once per outcome and
// checks that the stream is counted under that outcome, and that bytes,
// items and flushes add up to what the client received.
func TestMetricsOutcomes(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tests := []struct {
		name    string
		route   string
		handler func(w *sink.Writer[int]) gin.HandlerFunc
		client  func(t *testing.T, res *http.Response) // reads (part of) the body
		outcome string
		bytes   int64 // body bytes, or -1 not to check
		items   int64
	}{
		{
			name:  "completed",
			route: "/count",
			handler: func(w *sink.Writer[int]) gin.HandlerFunc {
				return func(c *gin.Context) { w.Stream(c, generator.Count(12, 0)) }
			},
			client:  metricsReadAll("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n"),
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
			client:  metricsWantStatus(http.StatusInternalServerError),
			outcome: "failed", bytes: 0, items: 0,
		},
		{
			name:  "client gone",
			route: "/endless",
			handler: func(w *sink.Writer[int]) gin.HandlerFunc {
				return func(c *gin.Context) { w.Stream(c, generator.Count(1<<30, time.Millisecond)) }
			},
			client:  metricsReadLineAndLeave,
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
			client:  metricsWantStatus(http.StatusServiceUnavailable),
			outcome: "rejected", bytes: 0, items: 0,
		},
	}
	m := new(handlers.Metrics)
	srv := metricsServer(t, m, func(r *gin.Engine, w *sink.Writer[int]) {
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
			series := fmt.Sprintf(`ginstream_streams_total{route=%q,outcome=%q}`, tt.route, tt.outcome)
			got := waitForMetrics(t, srv.URL+"/metrics", func(s map[string]int64) bool {
				return s[series] == 1 && s[fmt.Sprintf(`ginstream_active_streams{route=%q}`, tt.route)] == 0
			})
			for _, o := range []string{"completed", "client_gone", "stalled", "failed", "rejected"} {
				if o == tt.outcome {
					continue
				}
				if s := fmt.Sprintf(`ginstream_streams_total{route=%q,outcome=%q}`, tt.route, o); got[s] != 0 {
					t.Errorf("%s = %d, want 0", s, got[s])
				} else if _, ok := got[s]; !ok {
					t.Errorf("%s missing: every outcome of a seen route is exported", s)
				}
			}
			bytes := got[fmt.Sprintf(`ginstream_stream_bytes_total{route=%q}`, tt.route)]
			items := got[fmt.Sprintf(`ginstream_stream_items_total{route=%q}`, tt.route)]
			flushes := got[fmt.Sprintf(`ginstream_stream_flushes_total{route=%q}`, tt.route)]
			if tt.bytes >= 0 && (bytes != tt.bytes || items != tt.items) {
				t.Errorf("bytes, items = %d, %d; want %d, %d", bytes, items, tt.bytes, tt.items)
			}
			if tt.bytes < 0 && (bytes == 0 || items == 0) {
				t.Errorf("bytes, items = %d, %d; want the part streamed before the client left", bytes, items)
			}
			if (bytes > 0) != (flushes > 0) {
				t.Errorf("flushes = %d with %d bytes", flushes, bytes)
			}
		})
	}
}

// readAll returns a client that reads the whole body and checks it.
func metricsReadAll(want string) func(*testing.T, *http.Response) {
	return func(t *testing.T, res *http.Response) {
		body, err := io.ReadAll(res.Body)
		if err != nil || string(body) != want {
			t.Fatalf("body = %q, %v; want %q", body, err, want)
		}
	}
}

// wantStatus returns a client that checks the status only.
func metricsWantStatus(code int) func(*testing.T, *http.Response) {
	return func(t *testing.T, res *http.Response) {
		if res.StatusCode != code {
			t.Fatalf("status = %d, want %d", res.StatusCode, code)
		}
	}
}

// metricsReadLineAndLeave reads one line and then closes the body, which closes the
// connection mid-stream.
func metricsReadLineAndLeave(t *testing.T, res *http.Response) {
	if _, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
}

// waitFor scrapes url until ok accepts the samples, and fails t if that
// does not happen within a generous deadline.
func waitForMetrics(t *testing.T, url string, ok func(map[string]int64) bool) map[string]int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := scrapeMetrics(t, url)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never reached the expected state; last scrape: %v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMetricsActiveStreams checks the gauge: one while a tracked request
// runs, zero once it has returned, and untouched by untracked routes.
func TestMetricsActiveStreams(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	m := new(handlers.Metrics)
	srv := metricsServer(t, m, func(r *gin.Engine, w *sink.Writer[int]) {
		r.GET("/hold/:id", m.Track, func(c *gin.Context) {
			entered <- struct{}{}
			<-release
			c.String(http.StatusOK, "done")
		})
		r.GET("/untracked", func(c *gin.Context) { w.Stream(c, generator.Count(3, 0)) })
	})
	const gauge = `ginstream_active_streams{route="/hold/:id"}`
	for series := range scrapeMetrics(t, srv.URL+"/metrics") {
		if strings.HasPrefix(series, "ginstream_") {
			t.Fatalf("metrics before any request have %s, want no stream series", series)
		}
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
	if s := scrapeMetrics(t, srv.URL+"/metrics"); s[gauge] != 2 {
		t.Errorf("%s = %d while two requests run, want 2 (one series for the route pattern)", gauge, s[gauge])
	}
	res, err := http.Get(srv.URL + "/untracked")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	close(release)
	wg.Wait()
	s := scrapeMetrics(t, srv.URL+"/metrics")
	if s[gauge] != 0 {
		t.Errorf("%s = %d after the requests, want 0", gauge, s[gauge])
	}
	if g := s[`ginstream_active_streams{route="/untracked"}`]; g != 0 {
		t.Errorf("untracked route's gauge = %d, want 0", g)
	}
	if n := s[`ginstream_streams_total{route="/untracked",outcome="completed"}`]; n != 1 {
		t.Errorf("untracked route's completed streams = %d, want 1 (OnReport counts without Track)", n)
	}
}

// TestMetricsLabelEscaping checks that a route pattern with double quotes
// comes out escaped, so the exposition stays parseable. (gin
// patterns cannot hold a backslash or a newline, the other characters the
// format escapes.)
func TestMetricsLabelEscaping(t *testing.T) {
	m := new(handlers.Metrics)
	srv := metricsServer(t, m, func(r *gin.Engine, w *sink.Writer[int]) {
		r.GET(`/say/"hi"`, m.Track, func(c *gin.Context) { w.Stream(c, generator.Count(1, 0)) })
	})
	res, err := http.Get(srv.URL + `/say/%22hi%22`)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", res.StatusCode)
	}
	s := scrapeMetrics(t, srv.URL+"/metrics")
	if n := s[`ginstream_streams_total{route="/say/\"hi\"",outcome="completed"}`]; n != 1 {
		t.Errorf("escaped series = %d, want 1; samples: %v", n, s)
	}
}

// TestMetricsConcurrent reports, tracks and scrapes from many goroutines at
// once (run it with -race) and checks that no count is lost.
func TestMetricsConcurrent(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	m := new(handlers.Metrics)
	const goroutines, reports = 8, 500
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		texts []string // scraped while the counts change
	)
	for g := range goroutines {
		wg.Go(func() {
			for i := range reports {
				c, _ := gin.CreateTestContext(httptest.NewRecorder())
				m.Track(c)
				m.OnReport(c, sink.Report{Outcome: sink.Outcome(i % 2), Bytes: 10, Items: 2, Flushes: 1})
				if i%100 == g {
					mu.Lock()
					texts = append(texts, metricsText(t, m))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, text := range texts {
		checkExposition(t, text)
	}
	s := checkExposition(t, metricsText(t, m))
	want := map[string]int64{
		`ginstream_active_streams{route=""}`:                            0,
		`ginstream_streams_total{route="",outcome="completed"}`:         goroutines * reports / 2,
		`ginstream_streams_total{route="",outcome="client_gone"}`:       goroutines * reports / 2,
		`ginstream_streams_total{route="",outcome="failed"}`:            0,
		`ginstream_stream_bytes_total{route=""}`:                        goroutines * reports * 10,
		`ginstream_stream_items_total{route=""}`:                        goroutines * reports * 2,
		`ginstream_stream_flushes_total{route=""}`:                      goroutines * reports,
		`ginstream_streams_total{route="",outcome="rejected"}`:          0,
		`ginstream_streams_total{route="",outcome="stalled"}`:           0,
		`ginstream_stream_flushes_total{route="/never-seen"}`:           -1, // absent
		`ginstream_streams_total{route="/never-seen",outcome="failed"}`: -1,
	}
	for series, n := range want {
		got, ok := s[series]
		if n < 0 && ok || n >= 0 && (!ok || got != n) {
			t.Errorf("%s = %d (present %v), want %d", series, got, ok, n)
		}
	}
}

// TestMetricsRuntime checks the process gauges against what the test
// itself does to the process: goroutines it starts and joins, and a heap
// allocation it keeps alive.
func TestMetricsRuntime(t *testing.T) {
	m := new(handlers.Metrics)
	const extra = 200
	before := checkExposition(t, metricsText(t, m))["go_goroutines"]
	if before < 1 {
		t.Fatalf("go_goroutines = %d, want at least this test's goroutine", before)
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range extra {
		wg.Go(func() { <-release })
	}
	during := checkExposition(t, metricsText(t, m))["go_goroutines"]
	close(release)
	wg.Wait()
	// Other tests' goroutines come and go meanwhile (t.Parallel is not used
	// in this package, but servers of earlier tests may still wind down):
	// the count must have grown by the goroutines started, give or take a
	// few.
	if during < before+extra-20 {
		t.Errorf("go_goroutines = %d with %d goroutines started, %d before: want about %d", during, extra, before, before+extra)
	}

	const size = 64 << 20
	heapBefore := checkExposition(t, metricsText(t, m))["go_memstats_heap_inuse_bytes"]
	block := make([]byte, size)
	for i := range block {
		block[i] = byte(i) // in use for real
	}
	heapDuring := checkExposition(t, metricsText(t, m))["go_memstats_heap_inuse_bytes"]
	runtime.KeepAlive(block)
	if heapDuring < size || heapDuring < heapBefore+size/2 {
		t.Errorf("go_memstats_heap_inuse_bytes = %d holding a %d-byte block (%d before): want the block counted", heapDuring, size, heapBefore)
	}
	runtime.GC() // the live heap is the last collection's
	if live := checkExposition(t, metricsText(t, m))["go_gc_heap_live_bytes"]; live < size {
		t.Errorf("go_gc_heap_live_bytes = %d after a GC, holding a %d-byte block: want the block counted", live, size)
	}
	runtime.KeepAlive(block)
}

// exposition returns what m.WriteTo writes, checking its byte count.
func metricsText(t *testing.T, m *handlers.Metrics) string {
	var b strings.Builder
	n, err := m.WriteTo(&b)
	if err != nil || n != int64(b.Len()) {
		t.Errorf("WriteTo = %d, %v; wrote %d bytes", n, err, b.Len())
	}
	return b.String()
}
