package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/fanout"
)

// The goals, which the summary checks.
const (
	goalP99       = 100 * time.Millisecond
	goalBeyondNet = 16 << 10 // bytes per idle subscriber beyond net/http
)

// Result is what a run measured; -json prints it as is. Bytes are bytes,
// times are in the unit their name says.
type Result struct {
	Handler     string  `json:"handler"` // the server's events handler: sse or direct
	Subscribers int     `json:"subscribers"`
	Rate        float64 `json:"rate"`
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`
	Payload     int     `json:"payload_bytes"`
	ServerPID   int     `json:"server_pid"`

	Connect ConnectStats `json:"connect"`
	// ConnectedAtEnd counts subscribers still reading when the window
	// and the drain were over; ServerSubscribersAtEnd is the hub's count
	// of subscriptions then.
	ConnectedAtEnd         int      `json:"connected_at_end"`
	ServerSubscribersAtEnd int      `json:"server_subscribers_at_end"`
	Disconnects            int64    `json:"disconnects"`       // streams that ended before the run closed them
	Lagging                int      `json:"lagging"`           // connected subscribers that never received an event published after the window
	Gaps                   int64    `json:"gaps"`              // events skipped (ids missing), over all subscribers
	Disordered             int64    `json:"disordered"`        // events whose id was not above the one before
	Unexpected             int64    `json:"unexpected_events"` // named events: reset, missed, error, shutdown
	Errors                 []string `json:"errors,omitempty"`  // the first few

	Events  EventStats   `json:"events"`
	Latency LatencyStats `json:"latency"`
	CPU     CPUStats     `json:"cpu"`

	Server        Memory   `json:"server"`
	Reference     *Memory  `json:"reference,omitempty"`       // the plain net/http handler, with -reference
	BeyondNetHTTP *PerConn `json:"beyond_net_http,omitempty"` // Server's per idle subscriber minus Reference's
}

// ConnectStats describes how the subscribers connected.
type ConnectStats struct {
	Connected int     `json:"connected"`
	Failed    int     `json:"failed"`
	Seconds   float64 `json:"seconds"`
}

// EventStats counts the events of the window.
type EventStats struct {
	Due        int64   `json:"due"`        // events due in the window at the rate
	Published  int64   `json:"published"`  // events published in the window (from their ids)
	Deliveries int64   `json:"deliveries"` // events of the window received, over all subscribers
	Min        int64   `json:"min_per_subscriber"`
	Mean       float64 `json:"mean_per_subscriber"`
}

// LatencyStats are the delivery latencies of the window's events, from
// publication in the child to parsing in a subscriber.
type LatencyStats struct {
	Count int64   `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// CPUStats is the CPU time used during the window: by the server, the
// clients, the kernel's interrupts and softirqs (much of it the run's own
// loopback traffic; the kernel may count part of it in the processes'
// times too), and the machine's other processes (which share its cores
// and disturb the figures).
type CPUStats struct {
	ServerS             float64 `json:"server_s"`
	ClientsS            float64 `json:"clients_s"`
	IRQS                float64 `json:"irq_s"`
	OthersS             float64 `json:"others_s"`
	AvailableS          float64 `json:"available_s"` // the window times the cores
	ServerNsPerDelivery float64 `json:"server_ns_per_delivery"`
}

// Memory is the server child's memory in a run's phases.
type Memory struct {
	Connected         int       `json:"connected"`
	ConnectS          float64   `json:"connect_s"`
	Baseline          Snapshot  `json:"baseline"`
	Idle              Snapshot  `json:"idle"`
	Load              *Snapshot `json:"load,omitempty"` // halfway through the window, without a GC
	End               *Snapshot `json:"end,omitempty"`  // after the drain, without a GC
	MaxLoadRSS        int64     `json:"max_load_rss,omitempty"`
	PerIdleSubscriber PerConn   `json:"per_idle_subscriber"` // (Idle − Baseline) / Connected
}

// Snapshot is the child's memory at one moment: its RSS, and the Go
// runtime's heap spans and stacks in use.
type Snapshot struct {
	RSS         int64   `json:"rss"`
	HeapInuse   int64   `json:"heap_inuse"`
	StackInuse  int64   `json:"stack_inuse"`
	Goroutines  int     `json:"goroutines"`
	Subscribers int     `json:"subscribers"`
	Published   int64   `json:"published"`
	MaxLagMs    float64 `json:"max_publish_lag_ms"` // the most an event was published after it was due
}

// PerConn is memory per connection, in bytes, and goroutines per
// connection.
type PerConn struct {
	RSS        float64 `json:"rss"`
	HeapStacks float64 `json:"heap_stacks"`
	Stacks     float64 `json:"stacks"`
	Goroutines float64 `json:"goroutines"`
}

// perConn returns what each of n connections added from base to s.
func perConn(s, base Snapshot, n int) PerConn {
	per := func(a, b int64) float64 { return float64(a-b) / float64(n) }
	return PerConn{
		RSS:        per(s.RSS, base.RSS),
		HeapStacks: per(s.HeapInuse+s.StackInuse, base.HeapInuse+base.StackInuse),
		Stacks:     per(s.StackInuse, base.StackInuse),
		Goroutines: per(int64(s.Goroutines), int64(base.Goroutines)),
	}
}

// minus returns p − q.
func (p PerConn) minus(q PerConn) PerConn {
	return PerConn{
		RSS:        p.RSS - q.RSS,
		HeapStacks: p.HeapStacks - q.HeapStacks,
		Stacks:     p.Stacks - q.Stacks,
		Goroutines: p.Goroutines - q.Goroutines,
	}
}

// tally fills in what the subscribers saw, once they have been joined,
// and the CPU times of the window.
func (r *Result) tally(cl *fanout.Clients, cpu cpuSample) {
	r.Disconnects = cl.Disconnects.Load()
	r.Errors = cl.Errors()
	r.Events.Min = math.MaxInt64
	var sum int64
	for i := range cl.Subs {
		s := &cl.Subs[i]
		if !s.Connected() {
			continue // never connected
		}
		sum += s.Events
		r.Events.Min = min(r.Events.Min, s.Events)
		if s.Events > 0 {
			r.Events.Published = max(r.Events.Published, int64(s.LastWinID-s.FirstID+1))
		}
		r.Gaps += s.Gaps
		r.Disordered += s.Disordered
		r.Unexpected += s.Unexpected
		if !s.SawAfterWin {
			r.Lagging++
		}
	}
	if r.Connect.Connected == 0 {
		r.Events.Min = 0
	} else {
		r.Events.Mean = float64(sum) / float64(r.Connect.Connected)
	}
	r.Events.Deliveries = sum
	r.Events.Due = int64(math.Round(r.DurationS * r.Rate))
	h := &cl.Load.Latency
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.Latency = LatencyStats{
		Count: h.Count(),
		P50Ms: ms(h.Quantile(0.50)),
		P90Ms: ms(h.Quantile(0.90)),
		P99Ms: ms(h.Quantile(0.99)),
		MaxMs: ms(h.Max()),
	}
	r.CPU = CPUStats{
		ServerS:    cpu.server.Seconds(),
		ClientsS:   cpu.clients.Seconds(),
		IRQS:       cpu.irq.Seconds(),
		OthersS:    max(cpu.busy-cpu.irq-cpu.server-cpu.clients, 0).Seconds(),
		AvailableS: r.DurationS * float64(runtime.NumCPU()),
	}
	if sum > 0 {
		r.CPU.ServerNsPerDelivery = float64(cpu.server.Nanoseconds()) / float64(sum)
	}
}

// errLost reports a run in which a subscriber did not connect, did not
// stay connected, or did not receive every event.
var errLost = errors.New("not every subscriber stayed connected and received every event")

// verdict returns errLost, with what went wrong, unless every subscriber
// connected, stayed connected and received every event once, in order.
func (r *Result) verdict() error {
	var problems []string
	add := func(n int64, what string) {
		if n > 0 {
			problems = append(problems, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(int64(r.Connect.Failed), "failed to connect")
	add(r.Disconnects, "disconnected")
	add(int64(r.Lagging), "lagging")
	add(r.Gaps, "events missed")
	add(r.Disordered, "events out of order")
	add(r.Unexpected, "unexpected events")
	if len(problems) == 0 && r.Events.Min < r.Events.Published {
		problems = append(problems, fmt.Sprintf("a subscriber received %d of %d events", r.Events.Min, r.Events.Published))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", errLost, strings.Join(problems, ", "))
}

// writeJSON writes the result as indented JSON.
func (r *Result) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeSummary writes the result for a reader.
func (r *Result) writeSummary(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("sseload: %s server, %d subscribers, %g events/s of %d bytes, %gs window after %gs warmup, loopback (server pid %d)\n",
		r.Handler, r.Subscribers, r.Rate, r.Payload, r.DurationS, r.WarmupS, r.ServerPID)
	p("connect:    %d connected in %.1fs, %d failed\n", r.Connect.Connected, r.Connect.Seconds, r.Connect.Failed)
	p("stayed:     %d connected at end (server: %d subscriptions), %d disconnects, %d lagging\n",
		r.ConnectedAtEnd, r.ServerSubscribersAtEnd, r.Disconnects, r.Lagging)
	p("events:     %d published in the window (%d due); per subscriber min %d, mean %.1f; %d missed, %d out of order, %d unexpected\n",
		r.Events.Published, r.Events.Due, r.Events.Min, r.Events.Mean, r.Gaps, r.Disordered, r.Unexpected)
	for _, e := range r.Errors {
		p("  error:    %s\n", e)
	}
	if r.Server.End != nil {
		p("publisher:  at most %s late (delays count in the latency: it is measured from when an event was due)\n",
			msString(r.Server.End.MaxLagMs))
	}
	l := r.Latency
	p("latency:    p50 %s  p90 %s  p99 %s  max %s  (%d deliveries)  %s\n",
		msString(l.P50Ms), msString(l.P90Ms), msString(l.P99Ms), msString(l.MaxMs), l.Count,
		goal(l.P99Ms*float64(time.Millisecond) < float64(goalP99), fmt.Sprintf("p99 goal < %v", goalP99),
			fmt.Sprintf("by %s", msString(l.P99Ms-float64(goalP99)/float64(time.Millisecond)))))
	c := r.CPU
	p("cpu:        in the window, of %.1fs (%d cores): server %.1fs (%.0f ns per delivery), clients %.1fs, irq %.1fs, other processes %.1fs\n",
		c.AvailableS, runtime.NumCPU(), c.ServerS, c.ServerNsPerDelivery, c.ClientsS, c.IRQS, c.OthersS)
	p("\nserver memory\n")
	const rowFormat = "  %-30s %10s %12s %10s %11s"
	cells := func(cells ...any) { p("%s\n", strings.TrimRight(fmt.Sprintf(rowFormat, cells...), " ")) }
	cells("", "RSS", "heap+stacks", "stacks", "goroutines")
	row := func(name string, s Snapshot) {
		cells(name, mib(s.RSS), mib(s.HeapInuse+s.StackInuse), mib(s.StackInuse), fmt.Sprint(s.Goroutines))
	}
	perRow := func(name string, c PerConn) {
		cells(name, kib(c.RSS), kib(c.HeapStacks), kib(c.Stacks), fmt.Sprintf("%.2f", c.Goroutines))
	}
	if ref := r.Reference; ref != nil {
		row("net/http reference: baseline", ref.Baseline)
		row(fmt.Sprintf("  idle, %d connections", ref.Connected), ref.Idle)
		perRow("  per connection", ref.PerIdleSubscriber)
	}
	row(r.Handler+": baseline", r.Server.Baseline)
	row(fmt.Sprintf("  idle, %d subscribers", r.Server.Connected), r.Server.Idle)
	if r.Server.Load != nil {
		row("  under load (no GC)", *r.Server.Load)
		cells("  max RSS under load", mib(r.Server.MaxLoadRSS), "", "", "")
	}
	perRow("  per idle subscriber", r.Server.PerIdleSubscriber)
	if d := r.BeyondNetHTTP; d != nil {
		perRow("beyond net/http", *d)
	}
	if d := r.BeyondNetHTTP; d != nil {
		p("memory:     %s per idle subscriber beyond net/http (heap+stacks; RSS %s)  %s\n", kib(d.HeapStacks), kib(d.RSS),
			goal(d.HeapStacks < goalBeyondNet, "goal < 16 KiB", "by "+kib(d.HeapStacks-goalBeyondNet)))
	} else {
		p("memory:     %s per idle subscriber (heap+stacks; RSS %s); run with -reference to compare with net/http\n",
			kib(r.Server.PerIdleSubscriber.HeapStacks), kib(r.Server.PerIdleSubscriber.RSS))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// goal says whether a goal was met, and by how much it was missed.
func goal(met bool, what, missedBy string) string {
	if met {
		return what + ": met"
	}
	return what + ": MISSED " + missedBy
}

// msString formats milliseconds.
func msString(ms float64) string {
	if ms < 10 {
		return fmt.Sprintf("%.2fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

// kib formats bytes in KiB.
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// mib formats bytes in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
