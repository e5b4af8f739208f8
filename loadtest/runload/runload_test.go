package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunload measures at a tiny size, against the demo as a child
// process: every attach and every client must be correct, the figures
// positive, and the table must have every row.
func TestRunload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the demo")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	cfg, err := parseConfig([]string{"-attaches", "5", "-clients", "20", "-events", "40", "-interval", "25ms", "-settle", "100ms"}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	res, err := measure(ctx, cfg, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if err := res.verdict(); err != nil {
		t.Errorf("a check failed: %v", err)
	}
	var table bytes.Buffer
	if err := res.writeTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())

	for _, a := range []*attaches{&res.attach.ndjson, &res.attach.sse} {
		if a.tried != 5 || a.correct != 5 {
			t.Errorf("attaches: %d of %d correct, want 5 of 5", a.correct, a.tried)
		}
		if first, whole := a.first.Quantile(0.5), a.whole.Quantile(0.5); first <= 0 || whole < first {
			t.Errorf("attach: first number at %v, the end at %v: want 0 < first ≤ end", first, whole)
		}
	}
	for name, p := range map[string]*livePhase{"run": &res.run, "topic": &res.topic} {
		if p.clients != 20 || p.correct != 20 {
			t.Errorf("%s: %d of %d clients correct, want 20 of 20", name, p.correct, p.clients)
		}
		if p.rssBefore <= 0 || p.rssAttached <= 0 || p.window <= 0 || p.cpu < 0 {
			t.Errorf("%s: RSS %d before, %d attached; window %v, CPU %v: want them positive", name, p.rssBefore, p.rssAttached, p.window, p.cpu)
		}
		if p.deliveries <= 0 || p.spreadEvents <= 0 || p.spread.Count() != int64(p.spreadEvents*p.correct) {
			t.Errorf("%s: %d deliveries, spread of %d events over %d arrivals: want some, and an arrival per client and event",
				name, p.deliveries, p.spreadEvents, p.spread.Count())
		}
	}
	// The run's window holds 800 deliveries at most: some CPU time, in
	// /proc's ticks of 10 ms, is all but certain.
	if res.run.cpu <= 0 || res.run.rssEnd <= 0 {
		t.Errorf("run: CPU %v, RSS at the end %d: want them positive", res.run.cpu, res.run.rssEnd)
	}
	for _, row := range []string{"attach over NDJSON: first number", "attach over SSE: all 1,000 numbers", "attaches correct",
		"clients correct", "| 20 / 20 | 20 / 20 |", "RSS growth per client", "demo CPU per delivery", "arrival spread"} {
		if !strings.Contains(table.String(), row) {
			t.Errorf("the table has no %q", row)
		}
	}
}
