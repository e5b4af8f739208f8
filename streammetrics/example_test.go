package streammetrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/streammetrics"
)

// An app registers the Collector in its registry next to the Go and
// process collectors, reports its streams to it, and serves the registry
// with promhttp.
func Example() {
	gin.SetMode(gin.ReleaseMode)
	streams := streammetrics.NewCollector(streammetrics.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		// go_gc_heap_live_bytes besides the default Go series, such as
		// go_goroutines and go_memstats_heap_inuse_bytes.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)},
		)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		streams,
	)

	numbers := &sink.Writer[int]{Encoder: sink.Lines[int]{}, Config: sink.Config{OnReport: streams.Observe}}
	r := gin.New()
	r.GET("/numbers/:n", streams.Track, func(c *gin.Context) {
		numbers.Stream(c, generator.Count(3, 0))
	})
	r.GET("/metrics", gin.WrapH(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	srv := httptest.NewServer(r)
	defer srv.Close()

	for _, path := range []string{"/numbers/1", "/numbers/2", "/metrics"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if path != "/metrics" {
			continue
		}
		for line := range strings.Lines(string(body)) {
			if strings.HasPrefix(line, "ginstream_streams_total") ||
				strings.HasPrefix(line, "ginstream_stream_items_total") ||
				strings.HasPrefix(line, "ginstream_stream_duration_seconds_count") {
				fmt.Print(line)
			}
		}
	}
	// Output:
	// ginstream_stream_duration_seconds_count{outcome="completed",route="/numbers/:n"} 2
	// ginstream_stream_items_total{route="/numbers/:n"} 6
	// ginstream_streams_total{outcome="client_gone",route="/numbers/:n"} 0
	// ginstream_streams_total{outcome="completed",route="/numbers/:n"} 2
	// ginstream_streams_total{outcome="failed",route="/numbers/:n"} 0
	// ginstream_streams_total{outcome="rejected",route="/numbers/:n"} 0
	// ginstream_streams_total{outcome="stalled",route="/numbers/:n"} 0
}
