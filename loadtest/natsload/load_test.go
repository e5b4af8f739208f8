package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

// TestRun runs the load program for real, briefly: MemHub on one
// instance, the JetStream hub on one and on two instances, 20 subscribers
// each, 100 events a second for 1 s; then both ceilings. Every subscriber
// must receive every event of the window once, in order, with a latency
// for each, cross-instance ones only with two instances; every ceiling
// must be positive; and everything must be joined at the end (TestMain's
// goleak check).
func TestRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"-instances", "2", "-subscribers", "20", "-rate", "100", "-warmup", "300ms", "-duration", "1s",
		"-ceiling-subscribers", "5", "-ceiling-duration", "1s", "-json"}
	if err := run(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, &stderr)
	}
	var r Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("decoding the result: %v\n%s", err, &stdout)
	}
	if len(r.Latency) != 3 || len(r.Ceiling) != 2 {
		t.Fatalf("%d latency and %d ceiling runs, want 3 and 2:\n%s", len(r.Latency), len(r.Ceiling), &stdout)
	}
	for _, l := range r.Latency {
		subs := int64(l.Instances * l.Subscribers)
		if l.Published < 99 || l.Published > 101 {
			t.Errorf("%s × %d: %d events in the 1 s window, want 100 ± 1", l.Hub, l.Instances, l.Published)
		}
		for _, c := range []struct {
			what      string
			got, want int64
		}{
			{"deliveries", l.Delivered, subs * l.Published},
			{"gaps", l.Gaps, 0},
			{"disordered", l.Disordered, 0},
			{"named events", l.Named, 0},
			{"streams ended", int64(l.Ended), 0},
			{"subscribers past the window", l.Finished, subs},
		} {
			if c.got != c.want {
				t.Errorf("%s × %d: %s = %d, want %d", l.Hub, l.Instances, c.what, c.got, c.want)
			}
		}
		if !(l.All.P50 > 0 && l.All.P50 <= l.All.P99 && l.All.P99 <= l.All.Max) {
			t.Errorf("%s × %d: latency %+v, want 0 < p50 ≤ p99 ≤ max", l.Hub, l.Instances, l.All)
		}
		if cross := l.Cross.Count > 0; cross != (l.Instances > 1) {
			t.Errorf("%s × %d: %d cross-instance latencies", l.Hub, l.Instances, l.Cross.Count)
		}
	}
	for _, c := range r.Ceiling {
		if c.EventsPerS <= 0 || c.Delivered <= 0 || c.Gaps != 0 || c.Ended != 0 {
			t.Errorf("ceiling %+v: want events delivered, with no gap and no stream ended", c)
		}
	}
}

// TestRunRejects checks that bad arguments fail before anything starts.
func TestRunRejects(t *testing.T) {
	for _, args := range [][]string{
		{"-instances", "0"}, {"-rate", "0"}, {"-duration", "0s"}, {"-ceiling-publishers", "0"}, {"extra"}, {"-unknown"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out, &out); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("run(%q) = %v, want cli.ErrUsage", args, err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run -h = %v, want flag.ErrHelp", err)
	}
}
