package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
	"github.com/ginstream/ginstream/loadtest/internal/fanout"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// The child's command line and routes.
const (
	// serveFlag, as the first argument, runs the server child.
	serveFlag = "-serve"
	// eventsPath is the stream the subscribers open.
	eventsPath = "/events"
	// memPath answers the child's memory figures as JSON; ?gc=1 collects
	// garbage and returns freed memory to the OS first.
	memPath = "/debug/mem"
	// publishPath, POSTed, starts the publisher.
	publishPath = "/debug/publish"
	// pprofPath serves the child's runtime profiles.
	pprofPath = "/debug/pprof/"
	// topic is the hub topic every subscriber reads.
	topic = "load"
	// timestampDigits is the width of an event's publication time, in
	// nanoseconds since 1970, at the start of its data.
	timestampDigits = fanout.TimestampDigits
)

// childMem is what the child reports on memPath.
type childMem struct {
	HeapInuse   int64 `json:"heap_inuse"`
	StackInuse  int64 `json:"stack_inuse"`
	Goroutines  int   `json:"goroutines"`
	Subscribers int   `json:"subscribers"` // running hub subscriptions; 0 for the reference
	Published   int64 `json:"published"`   // events published so far
	MaxLag      int64 `json:"max_lag_ns"`  // the most an event was published after it was due
}

// The handlers the child can serve events with.
const (
	// handlerSSE is gin with an sse.EventWriter subscribing to the hub: what
	// the load measures.
	handlerSSE = "sse"
	// handlerDirect is gin with a handler that runs the hub subscription
	// on its own goroutine and writes each frame straight to the
	// response: the floor, for comparison with sse.EventWriter.
	handlerDirect = "direct"
	// handlerReference is plain net/http holding the connection open:
	// what net/http itself spends per connection.
	handlerReference = "reference"
)

// server is the child's state.
type server struct {
	handler string // handlerSSE, handlerDirect or handlerReference
	rate    float64
	payload int
	hub     *sse.MemHub
	events  *sse.EventWriter

	startOnce sync.Once
	start     chan struct{} // closed when the publisher is to start
	mu        sync.Mutex
	published int64         // events published so far
	maxLag    time.Duration // the most an event was published after it was due
}

// serve runs the server child until stdin reaches its end (the parent
// closed it, or died), ctx ends, or its -lifetime passes. It prints its
// address as the first and only line of stdout.
//
// The goroutine that watches stdin is the one it does not join: it ends
// when the parent closes the pipe, and otherwise with the process.
func serve(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sseload "+serveFlag, flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := &server{start: make(chan struct{})}
	fs.StringVar(&s.handler, "handler", handlerSSE, "the events handler: sse, direct or reference")
	fs.Float64Var(&s.rate, "rate", 10, "events per second")
	fs.IntVar(&s.payload, "payload", 64, "bytes of data per event")
	lifetime := fs.Duration("lifetime", time.Hour, "exit after this long whatever happens")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", cli.ErrUsage, err)
	}
	if s.handler != handlerSSE && s.handler != handlerDirect && s.handler != handlerReference {
		return fmt.Errorf("%w: unknown handler %q", cli.ErrUsage, s.handler)
	}
	if _, err := proc.RaiseFileLimit(); err != nil {
		return err
	}
	// Only the hub's warnings (slow subscribers) are worth a line: the
	// end of every stream at shutdown is not.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s.hub = &sse.MemHub{}
	s.events = &sse.EventWriter{Config: sink.Config{Logger: logger}}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(stderr, "sseload server: ", 0),
	}
	if _, err := fmt.Fprintln(stdout, ln.Addr()); err != nil {
		ln.Close()
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, *lifetime)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	wg.Go(func() { s.publish(ctx) })
	<-ctx.Done()
	s.hub.Close()
	err = srv.Close() // the streams' handlers end with their connections
	wg.Wait()
	return err
}

// routes returns the child's handler: the events, and the debug
// endpoints the parent measures and drives it with.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.Use(gin.Recovery())
	switch s.handler {
	case handlerReference:
		mux.HandleFunc("GET "+eventsPath, holdOpen)
	case handlerDirect:
		engine.GET(eventsPath, func(c *gin.Context) { s.direct(c.Writer, c.Request) })
		mux.Handle("GET "+eventsPath, engine)
	default:
		engine.GET(eventsPath, func(c *gin.Context) { s.events.Subscribe(c, s.hub, topic) })
		mux.Handle("GET "+eventsPath, engine)
	}
	mux.HandleFunc("GET "+memPath, s.mem)
	mux.HandleFunc("POST "+publishPath, func(w http.ResponseWriter, r *http.Request) {
		s.startOnce.Do(func() { close(s.start) })
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc(pprofPath, pprof.Index)
	mux.HandleFunc(pprofPath+"profile", pprof.Profile)
	return mux
}

// holdOpen is the reference: what a plain net/http handler spends to hold
// an event stream open. It sends the same opening retry field as an
// sse.EventWriter, then a comment every 15 s, the Writer's default heartbeat.
func holdOpen(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	if _, err := io.WriteString(w, "retry: 3000\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	t := time.NewTicker(sse.DefaultHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
			if _, err := io.WriteString(w, ": heartbeat\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// direct streams the hub's topic with as little as a handler can: the
// subscription runs on the handler's goroutine and each frame is written
// and flushed from the hub's yield, under a write deadline moved only when
// less than 3/4 of the stall timeout is left (as sink.Writer.StreamInline
// does over HTTP/1.1). It sends no heartbeats and has none of sse.EventWriter's
// endings, reports or logs: the floor for sse.EventWriter.
func (s *server) direct(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	if _, err := io.WriteString(w, "retry: 3000\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	const stall = sink.DefaultStallTimeout
	var deadline time.Time
	var buf []byte
	_ = s.hub.Subscribe(r.Context(), topic, r.Header.Get("Last-Event-ID"), func(f sse.Frame) error {
		if now := time.Now(); deadline.Sub(now) < stall*3/4 {
			deadline = now.Add(stall)
			if err := rc.SetWriteDeadline(deadline); err != nil {
				return err
			}
		}
		buf, _ = sse.FrameEncoder{}.Append(buf[:0], f)
		if _, err := w.Write(buf); err != nil {
			return err
		}
		return rc.Flush()
	})
}

// mem answers the child's memory figures, after a GC if ?gc=1.
func (s *server) mem(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("gc") == "1" {
		runtime.GC()
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.mu.Lock()
	published, maxLag := s.published, s.maxLag
	s.mu.Unlock()
	m := childMem{
		HeapInuse:   int64(ms.HeapInuse),
		StackInuse:  int64(ms.StackInuse),
		Goroutines:  runtime.NumGoroutine(),
		Subscribers: s.hub.Subscribers(topic),
		Published:   published,
		MaxLag:      int64(maxLag),
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(m)
}

// publish waits for the start signal, then publishes s.rate events a
// second until ctx ends, on a fixed schedule: an event that is late (the
// publisher did not get the CPU in time) is published at once, never
// skipped, so that an overloaded server cannot hide its delays by
// publishing less. Each event's data starts with the time it was due, in
// nanoseconds since 1970, and delivery latency is measured from it; then
// spaces up to s.payload bytes.
func (s *server) publish(ctx context.Context) {
	select {
	case <-s.start:
	case <-ctx.Done():
		return
	}
	if s.handler == handlerReference {
		return
	}
	interval := time.Duration(float64(time.Second) / s.rate)
	start := time.Now()
	data := make([]byte, 0, s.payload)
	for k := time.Duration(0); ; k++ {
		due := start.Add(k * interval)
		if err := sleepUntil(ctx, due); err != nil {
			return
		}
		data = strconv.AppendInt(data[:0], due.UnixNano(), 10)
		for len(data) < s.payload {
			data = append(data, ' ')
		}
		lag := time.Since(due)
		if _, err := s.hub.Publish(ctx, topic, sse.Event{Data: string(data)}); err != nil {
			return // the hub is closed, or ctx is done
		}
		s.mu.Lock()
		s.published++
		s.maxLag = max(s.maxLag, lag)
		s.mu.Unlock()
	}
}
