package main

import (
	"net/http"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ginstream/ginstream/streammetrics"
)

// metricsHandler returns the handler of /metrics: a registry of the
// streams' collector, the process's and the Go runtime's, in the
// Prometheus text format (or another format the scraper asks for).
//
// loadtest/streamload reads go_goroutines and go_memstats_heap_inuse_bytes, of
// the Go collector's defaults, and go_gc_heap_live_bytes, the live heap
// (runtime/metrics' /gc/heap/live:bytes), which the Go collector exports
// only when asked.
func metricsHandler(streams *streammetrics.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)},
		)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		streams,
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
