package handlers

import (
	"bufio"
	"io"
	"net/http"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/sink"
)

// Metrics counts streams per route and serves the counts in the Prometheus
// text exposition format (version 0.0.4), with no client library:
//
//	ginstream_active_streams{route}           gauge: requests running on tracked routes
//	ginstream_streams_total{route,outcome}    counter: streams ended, by sink.Outcome
//	ginstream_stream_bytes_total{route}       counter: body bytes accepted by clients
//	ginstream_stream_items_total{route}       counter: items encoded
//	ginstream_stream_flushes_total{route}     counter: batches written and flushed
//	go_goroutines                             gauge: goroutines of the process
//	go_memstats_heap_inuse_bytes              gauge: bytes in in-use heap spans
//	go_gc_heap_live_bytes                     gauge: heap bytes live at the last GC
//
// The last three describe the whole process (every Metrics in it reports the
// same values), under the names and meanings of the Prometheus Go client's
// collector, so that dashboards made for it work; they are read from
// runtime/metrics, which does not stop the world. They let a load test
// watch a server's memory and see its goroutines return to their baseline;
// the live heap, unlike the heap in use, does not swing with the garbage
// collector's cycle, so it shows a leak sooner.
//
// The route label is the gin route pattern (Context.FullPath, such as
// "/reports/:name"), so the number of series stays bounded whatever the
// requests. Wire it in three places:
//
//	m := new(handlers.Metrics)
//	w := &sink.Writer[int]{Encoder: sink.Lines[int]{}, Config: sink.Config{OnReport: m.OnReport}}
//	r.GET("/stream/numbers", m.Track, func(c *gin.Context) { w.Stream(c, producer) })
//	r.GET("/metrics", gin.WrapH(m))
//
// The zero value is ready to use. A Metrics is safe for concurrent use and
// must not be copied after first use.
type Metrics struct {
	mu     sync.Mutex
	routes map[string]*routeCounts
}

// routeCounts are the counts of one route.
type routeCounts struct {
	active   int64
	outcomes [sink.Rejected + 1]int64 // indexed by sink.Outcome
	bytes    int64
	items    int64
	flushes  int64
}

// route returns the counts of a route, creating them. m.mu must be held.
func (m *Metrics) route(name string) *routeCounts {
	rc := m.routes[name]
	if rc == nil {
		if m.routes == nil {
			m.routes = make(map[string]*routeCounts)
		}
		rc = new(routeCounts)
		m.routes[name] = rc
	}
	return rc
}

// Track is gin middleware that counts the requests it wraps in
// ginstream_active_streams while they run. Put it in front of handlers
// that stream; it counts a request that ends before streaming (a 400 for a
// bad parameter, say) for the time it takes.
func (m *Metrics) Track(c *gin.Context) {
	name := c.FullPath()
	m.mu.Lock()
	m.route(name).active++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.route(name).active--
		m.mu.Unlock()
	}()
	c.Next()
}

// OnReport counts a stream that has ended. Its signature is that of
// sink.Writer's OnReport field, so m.OnReport can be assigned to it.
func (m *Metrics) OnReport(c *gin.Context, r sink.Report) {
	name := c.FullPath()
	m.mu.Lock()
	defer m.mu.Unlock()
	rc := m.route(name)
	if r.Outcome >= 0 && int(r.Outcome) < len(rc.outcomes) {
		rc.outcomes[r.Outcome]++
	}
	rc.bytes += r.Bytes
	rc.items += r.Items
	rc.flushes += int64(r.Flushes)
}

// ServeHTTP answers with the metrics in the Prometheus text format; for
// gin, register it with gin.WrapH(m).
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = m.WriteTo(w)
}

// WriteTo writes the metrics to w in the Prometheus text format, routes in
// lexical order and, for each route, every outcome (zero or not), so that
// a series exists from the first time a route is seen.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	// Copy the counts, so that a slow reader of /metrics does not hold up
	// the streams reporting to m.
	m.mu.Lock()
	names := make([]string, 0, len(m.routes))
	counts := make(map[string]routeCounts, len(m.routes))
	for name, rc := range m.routes {
		names = append(names, name)
		counts[name] = *rc
	}
	m.mu.Unlock()
	slices.Sort(names)

	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	family := func(name, typ, help string, value func(rc *routeCounts, emit func(labels string, v int64))) {
		bw.WriteString("# HELP " + name + " " + help + "\n")
		bw.WriteString("# TYPE " + name + " " + typ + "\n")
		for _, route := range names {
			rc := counts[route]
			value(&rc, func(labels string, v int64) {
				bw.WriteString(name + `{route="` + escapeLabel(route) + `"` + labels + "} ")
				bw.WriteString(strconv.FormatInt(v, 10) + "\n")
			})
		}
	}
	family("ginstream_active_streams", "gauge", "Requests running on routes that stream.",
		func(rc *routeCounts, emit func(string, int64)) { emit("", rc.active) })
	family("ginstream_streams_total", "counter", "Streams ended, by outcome.",
		func(rc *routeCounts, emit func(string, int64)) {
			for o, n := range rc.outcomes {
				emit(`,outcome="`+sink.Outcome(o).String()+`"`, n)
			}
		})
	family("ginstream_stream_bytes_total", "counter", "Body bytes of streams accepted by clients.",
		func(rc *routeCounts, emit func(string, int64)) { emit("", rc.bytes) })
	family("ginstream_stream_items_total", "counter", "Items encoded by streams.",
		func(rc *routeCounts, emit func(string, int64)) { emit("", rc.items) })
	family("ginstream_stream_flushes_total", "counter", "Batches written and flushed by streams.",
		func(rc *routeCounts, emit func(string, int64)) { emit("", rc.flushes) })
	goroutines, heapInuse, heapLive := readRuntime()
	gauge := func(name, help string, v uint64) {
		bw.WriteString("# HELP " + name + " " + help + "\n")
		bw.WriteString("# TYPE " + name + " gauge\n")
		bw.WriteString(name + " " + strconv.FormatUint(v, 10) + "\n")
	}
	gauge("go_goroutines", "Number of goroutines that currently exist.", goroutines)
	gauge("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use.", heapInuse)
	gauge("go_gc_heap_live_bytes", "Heap memory occupied by live objects that were marked by the previous GC.", heapLive)
	err := bw.Flush()
	return cw.n, err
}

// The runtime/metrics samples behind the process gauges. Heap in use is
// what runtime.MemStats calls HeapInuse: the bytes of spans holding
// objects, live or not yet swept, including their unused slots.
var runtimeSamples = []string{
	"/sched/goroutines:goroutines",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/gc/heap/live:bytes",
}

// readRuntime returns the process's goroutines, heap bytes in use, and heap
// bytes live at the last GC.
func readRuntime() (goroutines, heapInuse, heapLive uint64) {
	samples := make([]metrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		samples[i].Name = name
	}
	metrics.Read(samples)
	value := func(s metrics.Sample) uint64 {
		if s.Value.Kind() != metrics.KindUint64 {
			return 0 // not supported by this runtime
		}
		return s.Value.Uint64()
	}
	return value(samples[0]), value(samples[1]) + value(samples[2]), value(samples[3])
}

// labelEscaper escapes a label value as the text format requires.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// escapeLabel escapes a label value, and replaces invalid UTF-8, which the
// format does not allow.
func escapeLabel(v string) string {
	return labelEscaper.Replace(strings.ToValidUTF8(v, "\uFFFD"))
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
