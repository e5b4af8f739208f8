package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// TestSSE runs the sse workload at a tiny size (50 subscribers, 20 events
// a second, a 2 s window, a 3 s stall with 8 KiB events) on the
// reference, ginstream and go-sse, and checks the table: every server's
// correctness column is computed and says yes (every subscriber received
// every event of the window, none missed or out of order), the figures
// are computed (memory and CPU per subscriber and delivery, latency), and
// while one subscriber does not read, ginstream delivers every event to
// every other subscriber. go-sse is the control: it must deliver less to
// them, which shows that the stalled subscriber's socket did fill (if it
// did not, ginstream's 100% would prove nothing). The figures are not
// judged: at this size they measure start-up more than streaming.
func TestSSE(t *testing.T) {
	args := []string{
		"-workloads", "sse",
		"-sse-servers", "reference,ginstream,go-sse",
		"-sse-subscribers", "50",
		"-sse-rate", "20",
		"-sse-warmup", "500ms",
		"-sse-window", "2s",
		"-sse-stall", "3s",
		"-sse-stall-payload", "8192",
		"-sse-drain", "5s", // go-sse, blocked by the stalled subscriber, waits all of it
	}
	var out, progress bytes.Buffer
	err := run(t.Context(), args, &out, &progress)
	t.Logf("progress:\n%s\ntable:\n%s", &progress, &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	rows := tableRows(t, out.String(), sseTableHeader)
	const (
		idleCol    = 1
		cpuCol     = 5
		latencyCol = 7
		missedCol  = 8
		stallCol   = 9
	)
	for _, name := range []string{"reference", "ginstream", "go-sse"} {
		cells, ok := rows[name]
		switch {
		case !ok:
			t.Errorf("%s: no row in the table", name)
			continue
		case len(cells) != strings.Count(sseTableHeader, "|")-1:
			t.Errorf("%s: %d cells: %q", name, len(cells), cells)
			continue
		}
		if got := cells[len(cells)-1]; got != "yes" {
			t.Errorf("%s: correct = %q, want yes", name, got)
		}
		if got := cells[missedCol]; got != "0 / 0" {
			t.Errorf("%s: missed / out of order = %q, want 0 / 0", name, got)
		}
		for _, c := range []struct {
			what, cell, unit string
		}{
			{"RSS per idle subscriber", cells[idleCol], " KiB"},
			{"CPU per delivery", cells[cpuCol], " µs"},
			{"latency p50", strings.Split(cells[latencyCol], " / ")[0], " ms"},
		} {
			if v, err := strconv.ParseFloat(strings.TrimSuffix(c.cell, c.unit), 64); err != nil || !(v > 0) {
				t.Errorf("%s: %s = %q, want a positive figure in%s", name, c.what, c.cell, c.unit)
			}
		}
	}
	stall := func(name string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSuffix(rows[name][stallCol], "%"), 64)
		if err != nil {
			t.Fatalf("%s: stall cell %q: %v", name, rows[name][stallCol], err)
		}
		return v
	}
	if got := stall("ginstream"); got != 100 {
		t.Errorf("ginstream delivered %v%% of the events due to the healthy subscribers while one was stalled, want 100%%", got)
	}
	if got := stall("go-sse"); got >= 90 {
		t.Errorf("control: go-sse delivered %v%% while one subscriber was stalled, want it held up (< 90%%): the stalled socket did not fill", got)
	}
}
