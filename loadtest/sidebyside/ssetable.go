package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// sseTableHeader is the SSE table's header row; the test finds the table
// by it.
const sseTableHeader = "| server | RSS per idle subscriber | vs reference | RSS with all idle | server CPU s in the window | server CPU per delivery | vs reference | latency p50 / p99 | missed / out of order | healthy subscribers' deliveries while one is stalled | correct |"

// printSSETable prints the SSE servers' rows as one Markdown table, with
// notes below it.
func printSSETable(w io.Writer, cfg config, rows []*sseRow) error {
	c := cfg.sse
	var b strings.Builder
	fmt.Fprintf(&b, "\nSSE: %s subscribers, %g events/s of %d bytes, a %v window after %v of warmup; then one subscriber stops reading for %v (events of %d bytes). %d run(s) per server, each on a fresh server; medians. %d CPUs, %s %s/%s.\n\n",
		thousands(int64(c.subscribers)), c.rate, c.payload, c.window, c.warmup, c.stall, c.stallPayload, c.runs,
		runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	b.WriteString(sseTableHeader + "\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var ref *sseRow
	if len(rows) > 0 && rows[0].server.name == sseServers[0].name {
		ref = rows[0]
	}
	var notes []string
	for _, r := range rows {
		idle := median(r.runs, sseResult.idlePer)
		cpu := median(r.runs, sseResult.cpuPer)
		idleRatio, cpuRatio := "–", "–"
		if ref != nil {
			idleRatio = ratio(idle, median(ref.runs, sseResult.idlePer))
			cpuRatio = ratio(cpu, median(ref.runs, sseResult.cpuPer))
		}
		correct := "yes"
		for i := range r.runs {
			if p := r.runs[i].problem(c.drain); p != "" {
				correct = "no"
				notes = append(notes, fmt.Sprintf("%s, run %d: WRONG: %s", r.server.name, i+1, p))
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f | %.1f µs | %s | %s / %s | %.0f / %.0f | %s | %s |\n",
			r.server.name, kibString(idle), idleRatio,
			mibString(median(r.runs, func(x sseResult) float64 { return float64(x.RSSIdle) })),
			median(r.runs, func(x sseResult) float64 { return x.ServerCPU.Seconds() }),
			cpu*1e6, cpuRatio,
			msString(median(r.runs, func(x sseResult) float64 { return x.P50.Seconds() })),
			msString(median(r.runs, func(x sseResult) float64 { return x.P99.Seconds() })),
			median(r.runs, func(x sseResult) float64 { return float64(x.Gaps) }),
			median(r.runs, func(x sseResult) float64 { return float64(x.Disordered) }),
			percent(median(r.runs, sseResult.stallFraction)), correct)
		notes = append(notes, r.notes()...)
	}
	b.WriteString("\nvs reference: ÷ the net/http reference's median; lower is better. RSS per idle subscriber: the server's RSS after a GC with every subscriber connected and idle, less before any, ÷ subscribers. CPU per delivery: the server's CPU time in the window ÷ the events due in it that subscribers received. Latency: from when an event was due to when a subscriber parsed it. Stalled: deliveries of the events due while one subscriber has stopped reading, to the others, ÷ those events × the others.\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// notes returns the notes on a server's runs: connections, the stall
// phase's counts and the CPU the clients and other processes used.
func (r *sseRow) notes() []string {
	var notes []string
	for i := range r.runs {
		x := &r.runs[i]
		others := max(x.MachineCPU-x.ServerCPU-x.ClientCPU, 0)
		notes = append(notes, fmt.Sprintf("%s, run %d: %d of %d subscribers ready in %.1f s; %d of %d deliveries in the window (%d events due); RSS under load %s; max latency %s; in the window the client used %.1f CPU-s, other processes %.1f; while stalled, %d of %d deliveries (%d events due × %d subscribers)",
			r.server.name, i+1, x.Ready, x.Subscribers, x.ConnectS, x.Deliveries, x.Ready*x.Due, x.Due,
			mibString(float64(x.RSSLoad)), msString(x.Max.Seconds()), x.ClientCPU.Seconds(), others.Seconds(),
			x.StallDeliveries, x.StallDue*x.StallHealthy, x.StallDue, x.StallHealthy))
		for _, e := range x.Errors {
			notes = append(notes, fmt.Sprintf("%s, run %d: error: %s", r.server.name, i+1, e))
		}
	}
	return notes
}

// idlePer returns the server's RSS growth per idle subscriber, in bytes.
func (r sseResult) idlePer() float64 {
	if r.Ready == 0 {
		return 0
	}
	return float64(r.RSSIdle-r.RSSBefore) / float64(r.Ready)
}

// cpuPer returns the server's CPU time per delivery in the window, in
// seconds.
func (r sseResult) cpuPer() float64 {
	if r.Deliveries == 0 {
		return 0
	}
	return r.ServerCPU.Seconds() / float64(r.Deliveries)
}

// stallFraction returns the fraction of the deliveries due to healthy
// subscribers during the stall that they received.
func (r sseResult) stallFraction() float64 {
	if want := r.StallDue * r.StallHealthy; want > 0 {
		return float64(r.StallDeliveries) / float64(want)
	}
	return 0
}

// problem returns what was wrong with the run's deliveries in the window
// (not the stall's, which the table shows), or "".
func (r sseResult) problem(drain time.Duration) string {
	var p []string
	add := func(n int64, what string) {
		if n > 0 {
			p = append(p, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(r.Failed, "subscribers could not connect")
	add(r.Disconnects, "streams ended early")
	add(r.Gaps, "events missed")
	add(r.Disordered, "events out of order")
	add(r.Unexpected, "unexpected named events")
	switch {
	case r.Due == 0:
		p = append(p, "no event due in the window")
	case r.Min < r.Due:
		p = append(p, fmt.Sprintf("a subscriber received %d of the window's %d events within %v of its end", r.Min, r.Due, drain))
	case r.Deliveries != r.Ready*r.Due:
		p = append(p, fmt.Sprintf("%d deliveries in the window, not %d", r.Deliveries, r.Ready*r.Due))
	}
	return strings.Join(p, "; ")
}

// kibString formats bytes in KiB.
func kibString(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// mibString formats bytes in MiB.
func mibString(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

// msString formats seconds in milliseconds.
func msString(s float64) string {
	if s < 0.01 {
		return fmt.Sprintf("%.2f ms", s*1e3)
	}
	return fmt.Sprintf("%.0f ms", s*1e3)
}

// msDuration formats a duration in milliseconds.
func msDuration(d time.Duration) string { return msString(d.Seconds()) }

// percent formats a fraction as a percentage.
func percent(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }
