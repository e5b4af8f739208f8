package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tableHeader is the table's header row; the test finds the table by it.
const tableHeader = "| workload | reference | ginstream | ratio | server CPU s, reference | server CPU s, ginstream | RSS growth, reference | RSS growth, ginstream | correct |"

// printTable prints the rows as one Markdown table, with notes below it.
func printTable(w io.Writer, cfg config, rows []*row) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d run(s) per workload and server, each on a fresh server; medians. %d CPUs, %s %s/%s.\n\n",
		cfg.runs, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	b.WriteString(tableHeader + "\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var notes []string
	for _, r := range rows {
		if r.skipped() {
			fmt.Fprintf(&b, "| %s | – | – | – | – | – | – | – | skipped |\n", r.name)
			notes = append(notes, fmt.Sprintf("%s: skipped: %s", r.name, r.skip))
			continue
		}
		sp := r.spec
		ref := median(r.ref, sp.figure)
		demo := median(r.demo, sp.figure)
		correct := "yes"
		if !r.correct() {
			correct = "no"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f | %.2f | %s | %s | %s |\n",
			sp.label, sp.format(ref), sp.format(demo), ratio(demo, ref),
			median(r.ref, cpuSeconds), median(r.demo, cpuSeconds),
			mib(int64(median(r.ref, growth))), mib(int64(median(r.demo, growth))), correct)
		notes = append(notes, r.notes()...)
	}
	b.WriteString("\nratio: ginstream ÷ reference (of the medians); for throughput higher is better, for RSS growth per stream lower is better.\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// notes returns the notes on a workload that ran: CPU per item, the
// clients' and the other processes' CPU time, and the wrong bodies.
func (r *row) notes() []string {
	sp := r.spec
	var notes []string
	if sp.items != nil {
		format := func(v float64) string { return fmt.Sprintf("%.1f ns/%s", v*1e9, sp.perItem) }
		if sp.perItem == "byte" {
			format = func(v float64) string { return fmt.Sprintf("%.2f s/GB", v*1e9) }
		}
		perItem := func(who string, cpu func(measurement) time.Duration) string {
			per := func(ms []measurement) float64 {
				return median(ms, func(m measurement) float64 {
					if n := sp.items(m); n > 0 {
						return cpu(m).Seconds() / n
					}
					return 0
				})
			}
			ref, demo := per(r.ref), per(r.demo)
			return fmt.Sprintf("%s: %s CPU per %s: reference %s, ginstream %s (%s)",
				r.name, who, sp.perItem, format(ref), format(demo), ratio(demo, ref))
		}
		notes = append(notes, perItem("server", func(m measurement) time.Duration { return m.serverCPU }))
		if sp.dbCPU != nil {
			notes = append(notes, perItem("PostgreSQL's", func(m measurement) time.Duration { return m.dbCPU }))
		}
	}
	var clients, others, wall time.Duration
	for _, m := range slices.Concat(r.ref, r.demo) {
		clients += m.clientCPU
		others += max(m.machineCPU-m.serverCPU-m.clientCPU-m.dbCPU, 0)
		wall += m.wall
	}
	notes = append(notes, fmt.Sprintf("%s: over its %s of client runs (%.0f CPU-s offered by %d CPUs), clients used %.1f CPU-s, processes other than the servers, clients and database %.1f",
		r.name, secs(wall), wall.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU(), clients.Seconds(), others.Seconds()))
	for _, p := range r.problems {
		notes = append(notes, fmt.Sprintf("%s: WRONG: %s", r.name, p))
	}
	return notes
}

// cpuSeconds is a measurement's server CPU time, in seconds.
func cpuSeconds(m measurement) float64 { return m.serverCPU.Seconds() }

// growth is a measurement's server RSS growth, in bytes.
func growth(m measurement) float64 { return float64(m.rssGrowth()) }

// median returns the median of f over ms (the mean of the middle two for
// an even count), or 0 for none.
func median[T any](ms []T, f func(T) float64) float64 {
	if len(ms) == 0 {
		return 0
	}
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// ratio formats a ÷ b, or "–" if b is not positive.
func ratio(a, b float64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// mib formats a number of bytes in MiB, with its sign.
func mib(n int64) string { return fmt.Sprintf("%+.1f MiB", float64(n)/(1<<20)) }

// secs formats a duration in seconds.
func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// sizeName formats a size in bytes: in MiB or KiB when it is a whole
// number of them.
func sizeName(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return thousands(n) + " bytes"
}
