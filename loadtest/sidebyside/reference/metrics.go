//go:build ignore

package main

import (
	"fmt"
	"net/http"
	"runtime/metrics"
)

// runtimeMetrics are the runtime's figures that /metrics reports, read
// without stopping the world; the Prometheus Go collector, which the demo
// uses, derives the same names from the same metrics.
var runtimeMetrics = []struct{ name, metric string }{
	{"go_goroutines", "/sched/goroutines:goroutines"},
	{"go_gc_heap_live_bytes", "/gc/heap/live:bytes"},
	{"heap_objects_bytes", "/memory/classes/heap/objects:bytes"},
	{"heap_unused_bytes", "/memory/classes/heap/unused:bytes"},
}

// metrics writes the server's figures in the Prometheus text format, under
// the names that the demo's /metrics gives them: go_goroutines,
// go_memstats_heap_inuse_bytes (the heap's spans in use: objects and the
// unused part of their spans), go_gc_heap_live_bytes (live at the last
// GC), and reference_active_streams, the streams running.
func (s *server) metrics(w http.ResponseWriter, _ *http.Request) {
	samples := make([]metrics.Sample, len(runtimeMetrics))
	for i, m := range runtimeMetrics {
		samples[i].Name = m.metric
	}
	metrics.Read(samples)
	v := make(map[string]uint64, len(samples))
	for i, m := range runtimeMetrics {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			v[m.name] = samples[i].Value.Uint64()
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintf(w, "go_goroutines %d\n", v["go_goroutines"])
	fmt.Fprintf(w, "go_memstats_heap_inuse_bytes %d\n", v["heap_objects_bytes"]+v["heap_unused_bytes"])
	fmt.Fprintf(w, "go_gc_heap_live_bytes %d\n", v["go_gc_heap_live_bytes"])
	fmt.Fprintf(w, "reference_active_streams %d\n", s.active.Load())
}
