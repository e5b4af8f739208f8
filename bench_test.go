package ginstream_test

// Benchmarks of the whole pipeline against references measured in the same
// run. Results and how to reproduce them: docs/BENCHMARKS.md.

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// benchItems is the number of small items ("123456\n") per stream.
const benchItems = 1_000_000

// appendLine appends i and a line feed, the item every reference writes.
func appendLine(dst []byte, i int) []byte {
	return append(strconv.AppendInt(dst, int64(i), 10), '\n')
}

// benchServer serves h over HTTP/1.1 on loopback for the benchmark.
func benchServer(b *testing.B, h http.Handler) string {
	b.Helper()
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	b.Cleanup(http.DefaultClient.CloseIdleConnections)
	return srv.URL
}

// drain fetches url and reads the body to the end, returning its length.
func drain(b *testing.B, url string) int64 {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// benchStream measures fetching a stream of items items from h.
func benchStream(b *testing.B, h http.Handler, items int) {
	url := benchServer(b, h)
	var size int64
	for b.Loop() {
		size = drain(b, url)
	}
	b.SetBytes(size)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
}

// ginEngine returns a bare gin engine (no logger) with one GET route.
func ginEngine(h gin.HandlerFunc) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/", h)
	return r
}

// BenchmarkSmallItems streams 1,000,000 small lines over loopback HTTP/1.1:
//   - raw: a net/http handler writing through one bufio.Writer, the reference;
//   - ginstream: generator.Count → sink.Writer → gin;
//   - ginstream-inline: sink.Writer.StreamInline, one write and flush per
//     item (100,000 items only; compare ns/item);
//   - gin-stream-per-item: gin's c.Stream writing and flushing one item per
//     step (100,000 items only: it is slow; compare ns/item).
func BenchmarkSmallItems(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		benchStream(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			bw := bufio.NewWriter(w)
			var buf []byte
			for i := 1; i <= benchItems; i++ {
				buf = appendLine(buf[:0], i)
				bw.Write(buf)
			}
			bw.Flush()
		}), benchItems)
	})
	b.Run("ginstream", func(b *testing.B) {
		benchStream(b, ginEngine(func(c *gin.Context) {
			sink.Stream(c, sink.Lines[int]{}, generator.Count(benchItems, 0))
		}), benchItems)
	})
	const perItem = benchItems / 10
	b.Run("ginstream-inline", func(b *testing.B) {
		w := &sink.Writer[int]{Encoder: sink.Lines[int]{}}
		benchStream(b, ginEngine(func(c *gin.Context) {
			w.StreamInline(c, generator.Count(perItem, 0))
		}), perItem)
	})
	b.Run("gin-stream-per-item", func(b *testing.B) {
		benchStream(b, ginEngine(func(c *gin.Context) {
			i := 0
			var buf []byte
			c.Stream(func(w io.Writer) bool {
				i++
				buf = appendLine(buf[:0], i)
				w.Write(buf)
				return i < perItem
			})
		}), perItem)
	})
}

// BenchmarkSmallItemsHTTP2 is BenchmarkSmallItems' raw and ginstream cases
// over HTTP/2 with TLS.
func BenchmarkSmallItemsHTTP2(b *testing.B) {
	run := func(b *testing.B, h http.Handler) {
		srv := httptest.NewUnstartedServer(h)
		srv.EnableHTTP2 = true
		srv.StartTLS()
		b.Cleanup(srv.Close)
		client := srv.Client()
		var size int64
		for b.Loop() {
			resp, err := client.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			if resp.ProtoMajor != 2 {
				b.Fatalf("got %s, want HTTP/2", resp.Proto)
			}
			size, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(size)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchItems), "ns/item")
	}
	b.Run("raw", func(b *testing.B) {
		run(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			bw := bufio.NewWriterSize(w, 32<<10)
			var buf []byte
			for i := 1; i <= benchItems; i++ {
				buf = appendLine(buf[:0], i)
				bw.Write(buf)
			}
			bw.Flush()
		}))
	})
	b.Run("ginstream", func(b *testing.B) {
		run(b, ginEngine(func(c *gin.Context) {
			sink.Stream(c, sink.Lines[int]{}, generator.Count(benchItems, 0))
		}))
	})
}

// BenchmarkPacedLatency measures how long a paced item (one every 20 ms)
// takes from yield to the client's read, over loopback HTTP/1.1. Every
// item carries its production time; the client reads the body line by
// line. Reported: p50, p99 and max latency in microseconds.
func BenchmarkPacedLatency(b *testing.B) {
	const items, interval = 50, 20 * time.Millisecond
	url := benchServer(b, ginEngine(func(c *gin.Context) {
		sink.Stream(c, sink.Lines[int64]{}, func(ctx context.Context, yield func(int64) error) error {
			t := time.NewTicker(interval)
			defer t.Stop()
			for range items {
				select {
				case <-t.C:
				case <-ctx.Done():
					return ctx.Err()
				}
				if err := yield(time.Now().UnixNano()); err != nil {
					return err
				}
			}
			return nil
		})
	}))
	var lat []time.Duration
	for b.Loop() {
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			sent, err := strconv.ParseInt(sc.Text(), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(time.Unix(0, sent)))
		}
		resp.Body.Close()
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

// discardWriter is an http.ResponseWriter that drops the body and supports
// Flush and CloseNotify, so that the pipeline runs without a network.
type discardWriter struct {
	h      http.Header
	closed chan bool
	n      int64
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }
func (w *discardWriter) Flush()                      {}
func (w *discardWriter) CloseNotify() <-chan bool    { return w.closed }

// BenchmarkPipeline runs generator → sink → gin into a writer that discards
// the body, to count the server's own allocations per item (allocs/item)
// and time per item without the network, for each encoder.
func BenchmarkPipeline(b *testing.B) {
	const items = 100_000
	strs := make([]string, items)
	bufs := make([][]byte, items)
	recs := make([][]string, items)
	type row struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	rows := make([]row, items)
	for i := range items {
		strs[i] = strconv.Itoa(i * 7919)
		bufs[i] = []byte(strs[i] + "\n")
		recs[i] = []string{strconv.Itoa(i), "name, with comma", `quote "q"`}
		rows[i] = row{ID: i, Name: "user " + strs[i]}
	}
	cases := []struct {
		name string
		h    gin.HandlerFunc
	}{
		{"lines-int", func(c *gin.Context) { sink.Stream(c, sink.Lines[int]{}, generator.Count(items, 0)) }},
		{"lines-string", func(c *gin.Context) { sink.Stream(c, sink.Lines[string]{}, generator.Slice(strs)) }},
		{"bytes", func(c *gin.Context) { sink.Stream(c, sink.Bytes{}, generator.Slice(bufs)) }},
		{"csv", func(c *gin.Context) { sink.Stream(c, sink.CSV{}, generator.Slice(recs)) }},
		{"ndjson", func(c *gin.Context) { sink.Stream(c, sink.NDJSON[row]{}, generator.Slice(rows)) }},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			engine := ginEngine(tc.h)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				w := &discardWriter{h: http.Header{}, closed: make(chan bool)}
				engine.ServeHTTP(w, req)
				size = w.n
			}
			b.SetBytes(size)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
			if size == 0 {
				b.Fatal("empty body")
			}
		})
	}
}
