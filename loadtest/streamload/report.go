package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// result is what a scenario found: its checks, each passed or failed, and
// figures worth reporting.
type result struct {
	title   string
	checks  []check
	figures []string
	notes   []string // details of failures: error messages, log lines
	tables  []string // printed as they are, after the figures

	// prefix starts the name of every check, figure and note recorded,
	// such as "reference: " while a scenario measures the reference.
	prefix string
}

// check is one checked property.
type check struct {
	name, got, want string
	ok              bool
}

// check records a check.
func (r *result) check(name string, ok bool, got, want string) {
	r.checks = append(r.checks, check{r.prefix + name, got, want, ok})
}

// figure records a figure, formatted as fmt.Sprintf does.
func (r *result) figure(format string, args ...any) {
	r.figures = append(r.figures, r.prefix+fmt.Sprintf(format, args...))
}

// note records details to print after the table, such as the first
// errors seen.
func (r *result) note(prefix string, lines []string) {
	for _, l := range lines {
		r.notes = append(r.notes, r.prefix+prefix+l)
	}
}

// passed reports whether every check passed, and there was at least one.
func (r *result) passed() bool {
	return len(r.checks) > 0 && !slices.ContainsFunc(r.checks, func(c check) bool { return !c.ok })
}

// failed returns the names of the checks that failed.
func (r *result) failed() []string {
	var names []string
	for _, c := range r.checks {
		if !c.ok {
			names = append(names, c.name)
		}
	}
	return names
}

// print writes the result as a table of checks, then the figures, the
// tables and the notes.
func (r *result) print(w io.Writer) error {
	var b strings.Builder
	verdict := "PASS"
	if !r.passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "\n== %s: %s ==\n", r.title, verdict)
	tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "\tcheck\tgot\twant")
	for _, c := range r.checks {
		mark := "PASS"
		if !c.ok {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", mark, c.name, c.got, c.want)
	}
	tw.Flush()
	for _, f := range r.figures {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	for _, t := range r.tables {
		fmt.Fprintf(&b, "\n%s\n", t)
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "  ! %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mib formats a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// secs formats a duration in seconds, to the millisecond.
func secs(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) }

// durations summarizes a set of durations: count, min, median, max.
type durations []time.Duration

// summary returns "min / median / max" of ds, or "none".
func (ds durations) summary() string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("%s / %s / %s", secs(s[0]), secs(s[len(s)/2]), secs(s[len(s)-1]))
}

// max returns the largest duration, or 0.
func (ds durations) max() time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// min returns the smallest duration, or 0.
func (ds durations) min() time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Min(ds)
}

// ratio formats got out of want, as "n of m".
func ratio(got, want int64) string { return fmt.Sprintf("%d of %d", got, want) }
