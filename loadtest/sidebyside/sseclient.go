package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
	"github.com/ginstream/ginstream/loadtest/internal/cli"
	"github.com/ginstream/ginstream/loadtest/internal/fanout"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// sseClientFlag, first among the arguments, makes the program the SSE
// fan-out client child of a measurement (see runSSEClient).
const sseClientFlag = "-sse-client"

// Timing of the SSE client's phases.
const (
	// idleSettle is how long the subscribers are left idle before the
	// server's memory is read.
	idleSettle = time.Second
	// stallLead is how far ahead of now the stall's schedule starts.
	stallLead = 500 * time.Millisecond
)

// isSSEClient reports whether args ask for the SSE client child.
func isSSEClient(args []string) bool { return len(args) > 0 && args[0] == sseClientFlag }

// sseResult is what the SSE client child reports, as JSON on its stdout.
// Counts of events are over the subscribers other than the one that
// stalls, except Deliveries and Min, over all (none stalls in the window).
type sseResult struct {
	Subscribers int     `json:"subscribers"`
	Ready       int64   `json:"ready"`  // received their first frame
	Failed      int64   `json:"failed"` // could not connect
	ConnectS    float64 `json:"connect_s"`

	RSSBefore int64 `json:"rss_before"` // the server's, after a GC, before the subscribers
	RSSIdle   int64 `json:"rss_idle"`   // after a GC, with every subscriber idle
	RSSLoad   int64 `json:"rss_load"`   // the highest sampled in the window (no GC)

	Due        int64         `json:"due"`        // events due in the window
	Deliveries int64         `json:"deliveries"` // of those, received, over all subscribers
	Min        int64         `json:"min"`        // the fewest a subscriber received
	ServerCPU  time.Duration `json:"server_cpu"` // the server's, in the window
	ClientCPU  time.Duration `json:"client_cpu"` // this process's, in the window
	MachineCPU time.Duration `json:"machine_cpu"`
	P50        time.Duration `json:"p50"`
	P99        time.Duration `json:"p99"`
	Max        time.Duration `json:"max"`

	Gaps        int64 `json:"gaps"`        // events missed
	Disordered  int64 `json:"disordered"`  // events out of order
	Unexpected  int64 `json:"unexpected"`  // named events (error, shutdown …)
	Disconnects int64 `json:"disconnects"` // streams that ended before the end

	StallHealthy    int64 `json:"stall_healthy"`    // subscribers reading during the stall
	StallDue        int64 `json:"stall_due"`        // events due in the stall phase
	StallDeliveries int64 `json:"stall_deliveries"` // of those, received by the healthy subscribers

	Errors []string `json:"errors,omitempty"`
}

// sseClient is the SSE client child's run.
type sseClient struct {
	cfg     sseConfig
	addr    string
	pid     int // the server's
	control *http.Client
}

// runSSEClient is the SSE client child: it runs the phases against the
// server at -addr (process -pid), serving its stream at -path, and writes
// an sseResult to stdout.
func runSSEClient(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sidebyside "+sseClientFlag, flag.ContinueOnError)
	c := &sseClient{cfg: defaultSSEConfig(), control: &http.Client{Timeout: time.Minute}}
	c.cfg.flags(fs)
	fs.StringVar(&c.addr, "addr", "", "the server's `host:port`")
	fs.IntVar(&c.pid, "pid", 0, "the server's process `id`")
	path := fs.String("path", "/events", "the event stream's `path`")
	timeout := fs.Duration("timeout", 5*time.Minute, "the longest the client may take")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", cli.ErrUsage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	defer c.control.CloseIdleConnections()
	cl := fanout.New(c.addr, *path, c.cfg.subscribers, max(c.cfg.payload, c.cfg.stallPayload))
	cl.StalledIndex = 0
	defer cl.Close()
	res, err := c.phases(ctx, cl)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

// phases runs the phases: idle memory, the load window, the stall.
func (c *sseClient) phases(ctx context.Context, cl *fanout.Clients) (*sseResult, error) {
	res := &sseResult{Subscribers: c.cfg.subscribers}
	if err := c.post(ctx, broadcast.ControlGC, nil, nil); err != nil {
		return nil, err
	}
	var err error
	if res.RSSBefore, err = proc.RSS(c.pid); err != nil {
		return nil, err
	}

	// Idle: every subscriber connected; servers that send nothing until
	// their first event are sent events until each has one.
	start := time.Now()
	cl.Start(ctx, c.cfg.dials)
	if err := cl.WaitReady(ctx, func() error { return c.post(ctx, broadcast.ControlOnce, nil, nil) }); err != nil {
		return nil, err
	}
	res.ConnectS = time.Since(start).Seconds()
	res.Ready, res.Failed = cl.Ready.Load(), cl.Failed.Load()
	if err := sleepFor(ctx, idleSettle); err != nil {
		return nil, err
	}
	if err := c.post(ctx, broadcast.ControlGC, nil, nil); err != nil {
		return nil, err
	}
	if res.RSSIdle, err = proc.RSS(c.pid); err != nil {
		return nil, err
	}

	if err := c.loadWindow(ctx, cl, res); err != nil {
		return nil, err
	}
	if err := c.stallPhase(ctx, cl, res); err != nil {
		return nil, err
	}
	cl.Close()
	c.tally(cl, res)
	return res, nil
}

// loadWindow publishes at the rate, measures the window after the warmup
// and waits for every subscriber to receive an event due after it.
func (c *sseClient) loadWindow(ctx context.Context, cl *fanout.Clients, res *sseResult) error {
	winStart := time.Now().Add(c.cfg.warmup)
	winEnd := winStart.Add(c.cfg.window)
	cl.Load.Set(winStart, winEnd)
	sched, err := c.schedule(ctx, c.cfg.rate, c.cfg.payload, time.Time{})
	if err != nil {
		return err
	}
	res.Due = sched.Count(winStart, winEnd)
	if err := sleepFor(ctx, time.Until(winStart)); err != nil {
		return err
	}
	cpu0, err := c.cpu()
	if err != nil {
		return err
	}
	s := sampleRSS(c.pid, 0)
	err = sleepFor(ctx, time.Until(winEnd))
	peak, serr := s.stop()
	if err != nil || serr != nil {
		return errors.Join(err, serr)
	}
	cpu1, err := c.cpu()
	if err != nil {
		return err
	}
	res.RSSLoad = peak
	res.ServerCPU, res.ClientCPU, res.MachineCPU = cpu1[0]-cpu0[0], cpu1[1]-cpu0[1], cpu1[2]-cpu0[2]
	return c.drain(ctx, cl.Load, cl.Alive.Load)
}

// drain waits, at most -sse-drain, for every subscriber (of want) to
// receive an event due after w: every event of w that will reach them
// has then.
func (c *sseClient) drain(ctx context.Context, w *fanout.Window, want func() int64) error {
	end := time.Now().Add(c.cfg.drain)
	for w.Finished.Load() < want() && time.Now().Before(end) {
		if err := sleepFor(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// stallPhase makes one subscriber stop reading while the server publishes
// events of the stall payload at the rate, and counts what the others
// receive of the events due meanwhile, while it still does not read:
// until each has received an event due after the phase, or for
// -sse-drain after it.
func (c *sseClient) stallPhase(ctx context.Context, cl *fanout.Clients, res *sseResult) error {
	// The stalled subscriber, if it connected, stays alive: it does not
	// read the end of its stream.
	var stalledAlive int64
	if cl.Subs[cl.StalledIndex].Connected() {
		stalledAlive = 1
	}
	healthy := func() int64 { return cl.Alive.Load() - stalledAlive }
	res.StallHealthy = healthy()
	cl.StallOne()
	// The phase's schedule starts a little later (or when the server
	// gets the request, if that is later still: Count then counts from
	// there), so that the window is set before its first event; the
	// load's events not yet published by then are dropped.
	start := time.Now().Add(stallLead)
	end := start.Add(c.cfg.stall)
	cl.Stall.Set(start, end)
	sched, err := c.schedule(ctx, c.cfg.rate, c.cfg.stallPayload, start)
	if err != nil {
		return err
	}
	res.StallDue = sched.Count(start, end)
	if err := sleepFor(ctx, time.Until(end)); err != nil {
		return err
	}
	if err := c.drain(ctx, cl.Stall, healthy); err != nil {
		return err
	}
	res.StallDeliveries = cl.Stall.Deliveries.Load()
	_, err = c.schedule(ctx, 0, 0, time.Time{})
	return err
}

// tally fills in what the subscribers saw, once they are joined.
func (c *sseClient) tally(cl *fanout.Clients, res *sseResult) {
	res.Deliveries = cl.Load.Deliveries.Load()
	res.Min = -1
	for i := range cl.Subs {
		s := &cl.Subs[i]
		if !s.Connected() {
			continue
		}
		if res.Min < 0 || s.Events < res.Min {
			res.Min = s.Events
		}
		if s.StalledOne() {
			continue
		}
		res.Gaps += s.Gaps
		res.Disordered += s.Disordered
		res.Unexpected += s.Unexpected
	}
	res.Min = max(res.Min, 0)
	res.Disconnects = cl.Disconnects.Load()
	h := &cl.Load.Latency
	res.P50, res.P99, res.Max = h.Quantile(0.50), h.Quantile(0.99), h.Max()
	res.Errors = cl.Errors()
}

// schedule sets the server's publishing schedule, from start (now if
// zero), and returns it (nil for rate 0).
func (c *sseClient) schedule(ctx context.Context, rate float64, payload int, start time.Time) (*broadcast.Schedule, error) {
	q := url.Values{"rate": {strconv.FormatFloat(rate, 'g', -1, 64)}, "payload": {strconv.Itoa(payload)}}
	if !start.IsZero() {
		q.Set("start", strconv.FormatInt(start.UnixNano(), 10))
	}
	var s *broadcast.Schedule
	err := c.post(ctx, broadcast.ControlSchedule, q, &s)
	return s, err
}

// post POSTs to a control endpoint of the server, and decodes its JSON
// answer into answer if not nil.
func (c *sseClient) post(ctx context.Context, path string, q url.Values, answer any) error {
	u := "http://" + c.addr + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.control.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("POST %s: %s: %q", path, resp.Status, msg)
	}
	if answer != nil {
		return json.NewDecoder(resp.Body).Decode(answer)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// cpu returns the CPU time used so far by the server, by this process and
// by the whole machine (busy).
func (c *sseClient) cpu() ([3]time.Duration, error) {
	var t [3]time.Duration
	var err error
	if t[0], err = proc.CPUTime(c.pid); err != nil {
		return t, err
	}
	if t[1], err = proc.CPUTime(os.Getpid()); err != nil {
		return t, err
	}
	t[2], _, err = proc.MachineCPU()
	return t, err
}

// sleepFor sleeps for d or until ctx ends, and then returns its error.
func sleepFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
