package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// TestRun runs the load program for real, briefly: a server child and 200
// subscribers over loopback, 10 events a second for 2 s. Every subscriber
// must connect, stay connected and receive every event of the window once,
// with a latency for each; the child's memory figures must show it holding
// the streams (a goroutine count per stream that only real streams give);
// and the run must end by itself with everything joined (TestMain's
// goleak check, and the child exiting when told to, or the run fails).
func TestRun(t *testing.T) {
	const subscribers = 200
	tests := []struct {
		name             string
		args             []string
		goroutinesPerSub float64 // in the child, per idle subscriber
	}{
		// sse.EventWriter runs the subscription on the handler's goroutine
		// (sink.Writer.StreamInline): the connection's goroutine running
		// the handler and its background reader, as net/http alone.
		{"sse with reference", []string{"-reference"}, 2},
		// A hand-written handler doing the same: the floor.
		{"direct", []string{"-server", "direct"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-subscribers", "200", "-rate", "10", "-duration", "2s", "-warmup", "300ms", "-json"}, tt.args...)
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := run(ctx, args, nil, &stdout, &stderr); err != nil {
				t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
			}
			var r Result
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("decoding the JSON result: %v\n%s", err, &stdout)
			}
			counts := []struct {
				what      string
				got, want int64
			}{
				{"connected", int64(r.Connect.Connected), subscribers},
				{"failed to connect", int64(r.Connect.Failed), 0},
				{"connected at end", int64(r.ConnectedAtEnd), subscribers},
				{"server's subscriptions at end", int64(r.ServerSubscribersAtEnd), subscribers},
				{"disconnects", r.Disconnects, 0},
				{"lagging", int64(r.Lagging), 0},
				{"events missed", r.Gaps, 0},
				{"events out of order", r.Disordered, 0},
				{"unexpected events", r.Unexpected, 0},
				{"events per subscriber, min", r.Events.Min, r.Events.Published},
				{"latencies", r.Latency.Count, subscribers * r.Events.Published},
				{"deliveries", r.Events.Deliveries, subscribers * r.Events.Published},
				{"idle subscriptions in the child", int64(r.Server.Idle.Subscribers), subscribers},
			}
			for _, c := range counts {
				if c.got != c.want {
					t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
				}
			}
			// 20 events are due in the 2 s window, give or take the one
			// at its edge.
			if r.Events.Published < 19 || r.Events.Published > 21 {
				t.Errorf("published %d events in the window, want 20 ± 1", r.Events.Published)
			}
			if !(r.Latency.P50Ms > 0 && r.Latency.P50Ms <= r.Latency.P99Ms && r.Latency.P99Ms <= r.Latency.MaxMs) {
				t.Errorf("latency p50 %v, p99 %v, max %v ms: want 0 < p50 ≤ p99 ≤ max", r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.MaxMs)
			}
			if r.Server.Connected != subscribers {
				t.Fatalf("%d subscribers connected in the idle phase, want %d", r.Server.Connected, subscribers)
			}
			server := perIdleSubscriber(r.Server, subscribers)
			checkPerConn(t, "per idle subscriber", r.Server.PerIdleSubscriber, server)
			if got := server.Goroutines; math.Abs(got-tt.goroutinesPerSub) > goroutineTolerance {
				t.Errorf("goroutines per idle subscriber = %v (%d → %d for %d), want %v ± %v",
					got, r.Server.Baseline.Goroutines, r.Server.Idle.Goroutines, subscribers, tt.goroutinesPerSub, goroutineTolerance)
			}
			if r.Server.PerIdleSubscriber.HeapStacks <= 0 || r.Server.Idle.RSS <= r.Server.Baseline.RSS {
				t.Errorf("per idle subscriber %+v, RSS %d → %d: want the streams to cost memory",
					r.Server.PerIdleSubscriber, r.Server.Baseline.RSS, r.Server.Idle.RSS)
			}
			if r.Server.Load == nil || r.Server.End == nil || r.Server.End.Published < r.Events.Published {
				t.Errorf("load snapshots %+v, %+v: want both, with the window's events published", r.Server.Load, r.Server.End)
			}
			wantRef := len(tt.args) > 0 && tt.args[0] == "-reference"
			if got := r.Reference != nil && r.BeyondNetHTTP != nil; got != wantRef {
				t.Fatalf("reference and difference reported: %v, want %v", got, wantRef)
			}
			if wantRef {
				if r.Reference.Connected != subscribers {
					t.Fatalf("reference: %d connections, want %d", r.Reference.Connected, subscribers)
				}
				ref := perIdleSubscriber(*r.Reference, subscribers)
				checkPerConn(t, "reference per idle connection", r.Reference.PerIdleSubscriber, ref)
				if math.Abs(ref.Goroutines-2) > goroutineTolerance {
					t.Errorf("reference: %v goroutines per connection, want 2 ± %v", ref.Goroutines, goroutineTolerance)
				}
				checkPerConn(t, "beyond net/http", *r.BeyondNetHTTP, PerConn{
					RSS:        server.RSS - ref.RSS,
					HeapStacks: server.HeapStacks - ref.HeapStacks,
					Stacks:     server.Stacks - ref.Stacks,
					Goroutines: server.Goroutines - ref.Goroutines,
				})
			}
		})
	}
}

// goroutineTolerance is how far goroutines per idle subscriber may be
// from the number a subscriber costs: 0.05 is 10 goroutines over 200
// subscribers (the runtime's and net/http's own coming and going); one
// goroutine more per subscriber is 1.
const goroutineTolerance = 0.05

// perIdleSubscriber computes what each of n subscribers added from m's
// baseline to its idle snapshot, from the raw snapshots and the test's
// count of subscribers (not with the program's own arithmetic, which it
// checks).
func perIdleSubscriber(m Memory, n float64) PerConn {
	b, i := m.Baseline, m.Idle
	return PerConn{
		RSS:        float64(i.RSS-b.RSS) / n,
		HeapStacks: float64((i.HeapInuse+i.StackInuse)-(b.HeapInuse+b.StackInuse)) / n,
		Stacks:     float64(i.StackInuse-b.StackInuse) / n,
		Goroutines: float64(i.Goroutines-b.Goroutines) / n,
	}
}

// checkPerConn compares each field of got with want, allowing for
// floating-point rounding only.
func checkPerConn(t *testing.T, what string, got, want PerConn) {
	t.Helper()
	fields := []struct {
		name      string
		got, want float64
	}{
		{"RSS", got.RSS, want.RSS},
		{"heap+stacks", got.HeapStacks, want.HeapStacks},
		{"stacks", got.Stacks, want.Stacks},
		{"goroutines", got.Goroutines, want.Goroutines},
	}
	for _, f := range fields {
		if math.Abs(f.got-f.want) > 1e-9*max(1, math.Abs(f.want)) {
			t.Errorf("%s: %s = %v, want %v (from the raw snapshots)", what, f.name, f.got, f.want)
		}
	}
}

// TestRunRejects checks that bad arguments fail before anything starts,
// with cli.ErrUsage and the usage, and that -h prints the usage.
func TestRunRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want error
	}{
		{"help", []string{"-h"}, flag.ErrHelp},
		{"no subscribers", []string{"-subscribers", "0"}, cli.ErrUsage},
		{"no rate", []string{"-rate", "0"}, cli.ErrUsage},
		{"negative rate", []string{"-rate", "-1"}, cli.ErrUsage},
		{"no duration", []string{"-duration", "0s"}, cli.ErrUsage},
		{"negative warmup", []string{"-warmup", "-1s"}, cli.ErrUsage},
		{"payload shorter than a timestamp", []string{"-payload", "10"}, cli.ErrUsage},
		{"unknown server", []string{"-server", "nginx"}, cli.ErrUsage},
		{"unknown flag", []string{"-connections", "5"}, cli.ErrUsage},
		{"argument", []string{"extra"}, cli.ErrUsage},
		{"unknown child handler", []string{serveFlag, "-handler", "nginx"}, cli.ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, nil, &out, &out)
			if !errors.Is(err, tt.want) {
				t.Fatalf("run(%q) = %v, want %v", tt.args, err, tt.want)
			}
			if tt.args[0] != serveFlag && !bytes.Contains(out.Bytes(), []byte("-subscribers")) {
				t.Errorf("run(%q) printed %q, want the usage", tt.args, &out)
			}
		})
	}
}

// TestRunRefusesMoreSubscribersThanFiles checks that a run asking for
// more sockets than the file-descriptor limit allows fails at once,
// saying so, rather than failing connections one by one.
func TestRunRefusesMoreSubscribersThanFiles(t *testing.T) {
	limit, err := proc.RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	if limit > 1<<30 {
		t.Skipf("file limit %d: nothing to exceed", limit)
	}
	var out bytes.Buffer
	err = run(context.Background(), []string{"-subscribers", strconv.FormatUint(limit, 10)}, nil, &out, &out)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("file descriptors")) {
		t.Fatalf("run with %d subscribers = %v, want an error about file descriptors", limit, err)
	}
}
