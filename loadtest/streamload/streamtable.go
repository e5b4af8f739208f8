package main

import (
	"fmt"
	"strings"
)

// streamsFigures are one server's figures in the comparison of the
// streams scenario with -reference.
type streamsFigures struct {
	streams, exact, failed int64 // the streams other than the stalled ones
	stalled, cut           int64 // the stalled streams, and those the server cut
	base, peak             sample
	minActive              int64 // active streams over the hold: the fewest
}

// figuresOf returns the figures of one server's load.
func figuresOf(l *streamsLoad) streamsFigures {
	var f streamsFigures
	for k := range kindStalled {
		f.streams += l.tallies[k].started.Load()
		f.exact += l.tallies[k].ok.Load()
		f.failed += l.tallies[k].failed.Load()
	}
	f.stalled, f.cut = l.tallies[kindStalled].started.Load(), l.tallies[kindStalled].ok.Load()
	f.base = l.base
	f.peak, _ = peak(l.samples, l.start, l.end)
	f.minActive = -1
	for _, s := range l.samples {
		if !s.at.Before(l.rampEnd) && s.at.Before(l.holdEnd) && (f.minActive < 0 || s.active < f.minActive) {
			f.minActive = s.active
		}
	}
	return f
}

// perActive returns the RSS beyond the idle server's at its peak, per
// active stream at the peak of active streams, in bytes; 0 if no stream
// was seen active.
func (f streamsFigures) perActive() float64 {
	if f.peak.active <= 0 {
		return 0
	}
	return float64(f.peak.rss-f.base.rss) / float64(f.peak.active)
}

// compareStreams returns the table of the reference server's figures
// beside the demo's, in Markdown, with the ratio demo ÷ reference where
// the two are comparable amounts: the memory per active stream first.
func compareStreams(ref, demo *streamsLoad) string {
	r, d := figuresOf(ref), figuresOf(demo)
	clients := float64(ref.cfg.streams)
	var b strings.Builder
	row := func(name, rv, dv, ratio string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, rv, dv, ratio)
	}
	ratioOf := func(rv, dv float64) string {
		if rv <= 0 || dv <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", dv/rv)
	}
	kib := func(v float64) string { return fmt.Sprintf("%.1f KiB", v/1024) }
	mb := func(v int64) string { return fmt.Sprintf("%.0f MiB", float64(v)/(1<<20)) }
	row("", "reference (net/http)", "demo (ginstream)", "demo ÷ reference")
	row("---", "---:", "---:", "---:")
	row("**RSS beyond the idle server's, per active stream** (peak − idle) ÷ peak active",
		kib(r.perActive()), kib(d.perActive()), "**"+ratioOf(r.perActive(), d.perActive())+"**")
	row("RSS beyond the idle server's, per client", kib(float64(r.peak.rss-r.base.rss)/clients),
		kib(float64(d.peak.rss-d.base.rss)/clients), ratioOf(float64(r.peak.rss-r.base.rss), float64(d.peak.rss-d.base.rss)))
	row("RSS idle / peak", mb(r.base.rss)+" / "+mb(r.peak.rss), mb(d.base.rss)+" / "+mb(d.peak.rss),
		ratioOf(float64(r.peak.rss), float64(d.peak.rss)))
	row("Go heap in use, peak", mb(r.peak.heap), mb(d.peak.heap), ratioOf(float64(r.peak.heap), float64(d.peak.heap)))
	row("Go live heap (at the last GC), peak", mb(r.peak.live), mb(d.peak.live), ratioOf(float64(r.peak.live), float64(d.peak.live)))
	row("active streams over the hold (fewest – most)", fmt.Sprintf("%d – %d", r.minActive, r.peak.active),
		fmt.Sprintf("%d – %d", d.minActive, d.peak.active), "")
	row("goroutines: idle / peak / after", fmt.Sprintf("%d / %d / %d", r.base.goroutines, r.peak.goroutines, ref.after),
		fmt.Sprintf("%d / %d / %d", d.base.goroutines, d.peak.goroutines, demo.after), ratioOf(float64(r.peak.goroutines), float64(d.peak.goroutines)))
	row("streams / byte-exact / failed (not stalled)", fmt.Sprintf("%d / %d / %d", r.streams, r.exact, r.failed),
		fmt.Sprintf("%d / %d / %d", d.streams, d.exact, d.failed), "")
	row("stalled streams cut by the server", fmt.Sprintf("%d of %d", r.cut, r.stalled), fmt.Sprintf("%d of %d", d.cut, d.stalled), "")
	row("ramp: every client with its first response", secs(ref.rampEnd.Sub(ref.start)), secs(demo.rampEnd.Sub(demo.start)), "")
	row("server CPU over the load", fmt.Sprintf("%.1f s over %.0f s", ref.cpu.server.Seconds(), ref.end.Sub(ref.start).Seconds()),
		fmt.Sprintf("%.1f s over %.0f s", demo.cpu.server.Seconds(), demo.end.Sub(demo.start).Seconds()),
		ratioOf(ref.cpu.server.Seconds(), demo.cpu.server.Seconds()))
	row("other processes' CPU over the load (machine − server − clients)", fmt.Sprintf("%.1f s", ref.cpu.others().Seconds()),
		fmt.Sprintf("%.1f s", demo.cpu.others().Seconds()), "")
	return strings.TrimRight(b.String(), "\n")
}
