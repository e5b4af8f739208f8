package sse_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// BenchmarkBroadcast publishes events on a MemHub topic with N
// subscribers, each of which writes every frame into its own buffer, as
// the sink of a stream does. An op is one event delivered to all N; the
// ns/delivery metric is the cost per subscriber and event, which stays
// flat as N grows if the cost of an event grows linearly with N, and
// encodings/event counts the encodings made of one event: the distinct
// frames the subscribers received, plus any encoding they did themselves.
//
// The encode-each reference makes every subscriber encode the event
// itself, as a hub without shared frames would: compare its ns/delivery
// with shared's at the same N.
func BenchmarkBroadcast(b *testing.B) {
	for _, mode := range []string{"shared", "encode-each"} {
		for _, n := range []int{1, 100, 10_000} {
			if mode == "encode-each" && n == 1 {
				continue
			}
			b.Run(fmt.Sprintf("%s/subscribers=%d", mode, n), func(b *testing.B) {
				benchBroadcast(b, n, mode == "encode-each")
			})
		}
	}
}

func benchBroadcast(b *testing.B, n int, encodeEach bool) {
	// Events are published in windows, each ending with a "sync" event
	// once every subscriber has caught up with the one before, so that no
	// subscriber falls further behind than a window.
	const window = 64
	hub := &sse.MemHub{Replay: 2 * window, Buffer: 2 * window}
	defer hub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start, _ := hub.Publish(ctx, "bench", sse.Event{Data: "start"})
	var (
		subscribed, caughtUp sync.WaitGroup
		last                 = make([]sse.Frame, n) // the last sync frame each received
		ownEncodings         atomic.Int64
	)
	for i := range n {
		subscribed.Go(func() {
			var buf []byte
			_ = hub.Subscribe(ctx, "bench", start.ID, func(f sse.Frame) error {
				if encodeEach {
					buf, _ = sse.EventEncoder{}.Append(buf[:0], f.Event())
					ownEncodings.Add(1)
				} else {
					buf, _ = sse.FrameEncoder{}.Append(buf[:0], f)
				}
				if f.Event().Name == "sync" {
					last[i] = f
					caughtUp.Done()
				}
				return nil
			})
		})
	}
	event := sse.Event{Name: "log", Data: strings.Repeat("a log line of about a hundred bytes. ", 3)}
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		k := min(window, b.N-done)
		caughtUp.Add(n)
		for j := range k {
			e := event
			if j == k-1 {
				e.Name = "sync"
			}
			if _, err := hub.Publish(ctx, "bench", e); err != nil {
				b.Fatal(err)
			}
		}
		caughtUp.Wait()
		done += k
	}
	b.StopTimer()
	frames := map[sse.Frame]bool{}
	for _, f := range last {
		frames[f] = true
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
	b.ReportMetric(float64(len(frames))+float64(ownEncodings.Load())/float64(b.N), "encodings/event")
	cancel()
	subscribed.Wait()
}

// BenchmarkIdleStreams holds b.N idle event streams open over HTTP/1.1 on
// loopback and reports the memory they take per stream (heap and stacks,
// server and client together, after a GC), as B/stream. The reference is
// a plain net/http handler that sends its headers and waits: the
// difference between the two is what an idle subscriber costs beyond
// net/http. Run it with a fixed count, such as -benchtime=2000x.
func BenchmarkIdleStreams(b *testing.B) {
	hub := &sse.MemHub{}
	defer hub.Close()
	w := &sse.EventWriter{Config: sink.Config{Logger: slog.New(slog.DiscardHandler)}}
	engine := gin.New()
	engine.GET("/sse", func(c *gin.Context) { w.Subscribe(c, hub, "news") })
	reference := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/event-stream")
		rw.Write([]byte("retry: 3000\n\n"))
		rw.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	for _, tt := range []struct {
		name    string
		handler http.Handler
		path    string
	}{
		{"reference", reference, "/"},
		{"sse", engine, "/sse"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			before, beforeStack := inUse()
			b.ResetTimer()
			bodies := make([]io.ReadCloser, 0, b.N)
			for range b.N {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+tt.path, nil)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				first := make([]byte, len("retry: 3000\n\n"))
				if _, err := io.ReadFull(resp.Body, first); err != nil {
					b.Fatal(err)
				}
				bodies = append(bodies, resp.Body)
			}
			b.StopTimer()
			after, afterStack := inUse()
			b.ReportMetric(float64(after-before)/float64(b.N), "B/stream")
			b.ReportMetric(float64(afterStack-beforeStack)/float64(b.N), "stack-B/stream")
			cancel()
			for _, body := range bodies {
				body.Close()
			}
		})
	}
}

// inUse returns the bytes of heap and stacks in use after a GC, and of
// stacks alone.
func inUse() (total, stacks int64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse), int64(m.StackInuse)
}
