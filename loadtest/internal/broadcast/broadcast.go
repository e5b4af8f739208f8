// Package broadcast is what the SSE servers of loadtest/sidebyside share
// around the library each one shows (net/http alone, ginstream, go-sse,
// r3labs/sse): a main that listens on loopback, serves the server's event
// stream beside a few control endpoints, and publishes events on a
// schedule the client sets, so that one client can drive all of them
// alike. Each server's own package holds only what its library's README
// shows: the handler, and how an event is published.
//
//	func main() {
//		s := &sse.Server{}
//		broadcast.Main("/events", s, func(id uint64, data []byte) error {
//			…publish data with id…
//		})
//	}
//
// An event's data starts with the time it was due on the schedule, in
// nanoseconds since 1970 (19 digits), then spaces up to the payload size;
// its id is a sequence number from 1, which a server may replace with its
// own ids (a hub assigns them). Control endpoints, all POST:
//
//   - ControlOnce publishes one event now: before the schedule starts, it
//     makes servers that send nothing before their first event send their
//     headers.
//   - ControlSchedule?rate=R&payload=P&start=NS (re)starts the schedule:
//     R events a second of P bytes of data from NS (nanoseconds since
//     1970; now if absent or past), the previous schedule's events not
//     yet published dropped, each published when it is due,
//     or at once if late (never skipped, so that a slow server shows as
//     latency rather than as fewer events). It answers the schedule's
//     start and interval as JSON (Schedule), from which the client knows
//     when every event was due. rate=0 stops it.
//   - ControlGC collects garbage and returns freed memory to the OS,
//     before the client reads the server's RSS.
//
// With the environment variable BROADCAST_PPROF set to an address
// (127.0.0.1:6060), a server also serves net/http/pprof's profiles there,
// for profiling it under the side-by-side program's load; the variable
// passes from the program to the servers it starts. With
// BROADCAST_MEMPROFILERATE set too (1 records every allocation), the heap
// profile samples at that rate rather than the runtime's default of one
// allocation in 512 KiB, for an exact count of what each subscriber holds.
package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
)

// The control endpoints.
const (
	ControlOnce     = "/control/once"
	ControlSchedule = "/control/schedule"
	ControlGC       = "/control/gc"
)

// ReadyPrefix starts the line a server prints once it listens, followed by
// its address (host:port).
const ReadyPrefix = "broadcast: listening on "

// Publish publishes one event with the given id and data to every
// subscriber. It may keep data. It is called from one goroutine at a
// time; it may block (a server that waits for a slow subscriber).
type Publish func(id uint64, data []byte) error

// Frame returns the Server-Sent Events frame of an event with id and
// data, which holds no line break: "id: ", "data: " and a blank line, as
// the peers written without a library encode it, once per event.
func Frame(id uint64, data []byte) []byte {
	f := make([]byte, 0, len(data)+32)
	f = append(f, "id: "...)
	f = strconv.AppendUint(f, id, 10)
	f = append(f, "\ndata: "...)
	f = append(f, data...)
	return append(f, "\n\n"...)
}

// Schedule is a publishing schedule: event k (from 0) is due at StartNs +
// k × IntervalNs, in nanoseconds since 1970.
type Schedule struct {
	StartNs    int64 `json:"start_ns"`
	IntervalNs int64 `json:"interval_ns"`
	Payload    int   `json:"payload"`
}

// Count returns how many events of the schedule are due in [from, to); 0
// for a nil schedule (rate 0).
func (s *Schedule) Count(from, to time.Time) int64 {
	if s == nil || s.IntervalNs <= 0 {
		return 0
	}
	// first returns the first k with StartNs + k·IntervalNs ≥ t.
	first := func(t time.Time) int64 {
		d := t.UnixNano() - s.StartNs
		if d <= 0 {
			return 0
		}
		return (d + s.IntervalNs - 1) / s.IntervalNs
	}
	return first(to) - first(from)
}

// Main runs a server: it serves events (the event stream's handler) at
// path and the control endpoints, on -addr (127.0.0.1:0), prints
// ReadyPrefix and the address, publishes with publish as the client asks,
// and exits on SIGTERM or SIGINT. With -gin, events is mounted in a gin
// router, as a gin app mounts an http.Handler (gin.New with Recovery,
// gin.WrapH): for the peers that are plain handlers, what gin costs them.
func Main(path string, events http.Handler, publish Publish) {
	if rate, err := strconv.Atoi(os.Getenv("BROADCAST_MEMPROFILERATE")); err == nil && rate > 0 {
		runtime.MemProfileRate = rate
	}
	addr := flag.String("addr", "127.0.0.1:0", "`address` to listen on")
	inGin := flag.Bool("gin", false, "mount the event stream's handler in a gin router")
	flag.Parse()
	if *inGin {
		events = inGinRouter(path, events)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr, path, events, publish); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// inGinRouter returns a gin router that serves h on GET path, as a gin
// app mounts an http.Handler.
func inGinRouter(path string, h http.Handler) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET(path, gin.WrapH(h))
	return r
}

// serve runs the server until ctx ends.
func serve(ctx context.Context, addr, path string, events http.Handler, publish Publish) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	p := &publisher{publish: publish, changed: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.Handle(path, events)
	mux.HandleFunc("POST "+ControlOnce, p.once)
	mux.HandleFunc("POST "+ControlSchedule, p.schedule)
	mux.HandleFunc("POST "+ControlGC, func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if addr := os.Getenv("BROADCAST_PPROF"); addr != "" {
		stop, err := servePprof(addr)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	fmt.Println(ReadyPrefix + ln.Addr().String())
	var wg sync.WaitGroup
	wg.Go(func() { p.run(ctx) })
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		return err
	}
	// The streams end with their connections; a publisher blocked by a
	// stalled subscriber is then let go by its library, or the process
	// ends with it.
	err = srv.Close()
	<-serveErr
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// publisher publishes on the schedule the client sets.
type publisher struct {
	publish Publish
	mu      sync.Mutex // held while publishing: one event at a time
	id      uint64     // the last id published, under mu
	sched   atomic.Pointer[Schedule]
	changed chan struct{} // signals a new schedule to run
}

// once publishes one event now.
func (p *publisher) once(w http.ResponseWriter, _ *http.Request) {
	if err := p.next(time.Now(), 0); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// schedule sets the schedule from ?rate= and ?payload=.
func (p *publisher) schedule(w http.ResponseWriter, r *http.Request) {
	rate, err := strconv.ParseFloat(r.URL.Query().Get("rate"), 64)
	if err != nil || rate < 0 || rate > 100_000 {
		http.Error(w, "rate must be from 0 to 100000", http.StatusBadRequest)
		return
	}
	payload, err := strconv.Atoi(r.URL.Query().Get("payload"))
	if err != nil || payload < 0 || payload > 1<<20 {
		http.Error(w, "payload must be from 0 to 1 MiB", http.StatusBadRequest)
		return
	}
	start := time.Now().UnixNano()
	if v := r.URL.Query().Get("start"); v != "" {
		ns, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			http.Error(w, "start must be nanoseconds since 1970", http.StatusBadRequest)
			return
		}
		start = max(start, ns)
	}
	var s *Schedule
	if rate > 0 {
		s = &Schedule{StartNs: start, IntervalNs: int64(float64(time.Second) / rate), Payload: payload}
	}
	p.sched.Store(s)
	select {
	case p.changed <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s)
}

// run publishes on the current schedule until ctx ends.
func (p *publisher) run(ctx context.Context) {
	var (
		s *Schedule
		k int64 // the next event of s
	)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if cur := p.sched.Load(); cur != s {
			s, k = cur, 0
		}
		wait := time.Hour
		if s != nil {
			wait = time.Until(time.Unix(0, s.StartNs+k*s.IntervalNs))
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-p.changed:
				continue
			case <-timer.C:
				continue // due now, unless the schedule changed
			}
		}
		if err := p.next(time.Unix(0, s.StartNs+k*s.IntervalNs), s.Payload); err != nil {
			fmt.Fprintln(os.Stderr, "broadcast: publish:", err)
			return
		}
		k++
	}
}

// next publishes the next event, due at due, of payload bytes of data (at
// least the due time's digits).
func (p *publisher) next(due time.Time, payload int) error {
	data := strconv.AppendInt(make([]byte, 0, max(payload, 19)), due.UnixNano(), 10)
	for len(data) < payload {
		data = append(data, ' ')
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.id++
	return p.publish(p.id, data)
}

// servePprof serves net/http/pprof's profiles on addr until stop is
// called.
func servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("BROADCAST_PPROF: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns ErrServerClosed once stopped
	}()
	return func() {
		srv.Close()
		<-done
	}, nil
}
