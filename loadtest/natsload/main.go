// Command natsload measures sse/natshub, the JetStream hub, against
// sse.MemHub in the same run, over loopback, in one process:
//
//	go run -C loadtest ./natsload         # 3 instances × 1,000 subscribers, 1,000 events/s, 10 s
//	go run -C loadtest ./natsload -subscribers 100 -rate 100 -duration 5s -json
//
// (from the repository's root; in loadtest/, go run ./natsload).
//
// The latency runs start, for each hub, server instances (gin with an
// sse.EventWriter subscribing each request to one topic) and -subscribers SSE
// clients per instance: sse.MemHub on one instance, and natshub.Hub on an
// embedded JetStream server (file storage) with one instance and with
// -instances instances, each with its own NATS connection as a separate
// process would have. Each instance publishes its share of -rate events a
// second on a fixed schedule; an event carries the time it was due and
// the instance that published it, so each client measures delivery
// latency from the due time, apart for events published through its own
// instance and through another (cross-instance).
//
// The ceiling runs measure one instance's throughput for each hub:
// -ceiling-publishers goroutines publish as fast as the slowest of
// -ceiling-subscribers clients keeps up with (never more than 128 events
// ahead of it, so nobody is disconnected as slow), for -ceiling-duration;
// the figure is the events per second that every client received.
//
// Everything shares the machine's cores: the clients, the servers and the
// NATS server. Compare the hubs' figures of one run, not runs.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
	"github.com/ginstream/ginstream/sse"
)

// config is a run's configuration, from the command line.
type config struct {
	instances          int
	subscribers        int
	rate               float64
	warmup, duration   time.Duration
	ceilingSubscribers int
	ceilingPublishers  int
	ceilingDuration    time.Duration
	json               bool
}

// Result is a run's figures.
type Result struct {
	Latency []LatencyResult `json:"latency"`
	Ceiling []CeilingResult `json:"ceiling"`
}

func main() {
	cli.Main("natsload", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}

// run parses args, runs the measurements and prints the result.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	res, err := measure(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return res.writeSummary(stdout)
}

// parseConfig reads the configuration from the command line.
func parseConfig(args []string, out io.Writer) (config, error) {
	cfg := config{
		instances: 3, subscribers: 1000, rate: 1000, warmup: 2 * time.Second, duration: 10 * time.Second,
		ceilingSubscribers: 10, ceilingPublishers: 4, ceilingDuration: 5 * time.Second,
	}
	fs := flag.NewFlagSet("natsload", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&cfg.instances, "instances", cfg.instances, "`number` of server instances sharing the JetStream hub")
	fs.IntVar(&cfg.subscribers, "subscribers", cfg.subscribers, "SSE subscribers per instance (`number`)")
	fs.Float64Var(&cfg.rate, "rate", cfg.rate, "`events` published per second, in all")
	fs.DurationVar(&cfg.warmup, "warmup", cfg.warmup, "publishing before the measured window")
	fs.DurationVar(&cfg.duration, "duration", cfg.duration, "the measured window of each latency run")
	fs.IntVar(&cfg.ceilingSubscribers, "ceiling-subscribers", cfg.ceilingSubscribers, "subscribers of the ceiling runs (`number`; 0 skips them)")
	fs.IntVar(&cfg.ceilingPublishers, "ceiling-publishers", cfg.ceilingPublishers, "publishing goroutines of the ceiling runs (`number`)")
	fs.DurationVar(&cfg.ceilingDuration, "ceiling-duration", cfg.ceilingDuration, "length of each ceiling run")
	fs.BoolVar(&cfg.json, "json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %w", cli.ErrUsage, err)
	}
	var problem string
	switch {
	case fs.NArg() > 0:
		problem = fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case cfg.instances < 1 || cfg.subscribers < 1:
		problem = "-instances and -subscribers must be at least 1"
	case !(cfg.rate > 0 && cfg.rate <= 100_000):
		problem = "-rate must be more than 0 and at most 100000"
	case cfg.duration <= 0 || cfg.warmup < 0 || cfg.ceilingDuration <= 0:
		problem = "-duration and -ceiling-duration must be positive, -warmup not negative"
	case cfg.ceilingSubscribers < 0 || cfg.ceilingPublishers < 1:
		problem = "-ceiling-subscribers must not be negative, -ceiling-publishers at least 1"
	}
	if problem != "" {
		fmt.Fprintln(out, problem)
		fs.Usage()
		return cfg, fmt.Errorf("%w: %s", cli.ErrUsage, problem)
	}
	return cfg, nil
}

// measure runs the latency runs, then the ceiling runs.
func measure(ctx context.Context, cfg config, stderr io.Writer) (*Result, error) {
	res := &Result{}
	runs := []struct {
		kind      string
		instances int
	}{{hubMem, 1}, {hubNATS, 1}, {hubNATS, cfg.instances}}
	if cfg.instances == 1 {
		runs = runs[:2]
	}
	for _, r := range runs {
		fmt.Fprintf(stderr, "natsload: latency, %s hub, %d instance(s) × %d subscribers, %g events/s\n", r.kind, r.instances, cfg.subscribers, cfg.rate)
		l, err := latencyRun(ctx, r.kind, r.instances, cfg.subscribers, cfg.rate, cfg.warmup, cfg.duration)
		if err != nil {
			return nil, fmt.Errorf("latency, %s × %d: %w", r.kind, r.instances, err)
		}
		res.Latency = append(res.Latency, l)
	}
	if cfg.ceilingSubscribers > 0 {
		for _, kind := range []string{hubMem, hubNATS} {
			fmt.Fprintf(stderr, "natsload: ceiling, %s hub, %d subscribers\n", kind, cfg.ceilingSubscribers)
			c, err := ceilingRun(ctx, kind, cfg.ceilingSubscribers, cfg.ceilingPublishers, cfg.ceilingDuration)
			if err != nil {
				return nil, fmt.Errorf("ceiling, %s: %w", kind, err)
			}
			res.Ceiling = append(res.Ceiling, c)
		}
	}
	return res, nil
}

// writeSummary prints the result as two tables.
func (r *Result) writeSummary(w io.Writer) error {
	fmt.Fprintln(w, "latency from due time (ms)            p50      p99      max   cross p50  cross p99  delivered/expected  gaps  ended  cpu-s")
	for _, l := range r.Latency {
		fmt.Fprintf(w, "%-4s %d × %5d subs, %6g ev/s  %8.2f %8.2f %8.1f  %9.2f  %9.2f  %9d/%-9d %5d  %5d  %5.1f\n",
			l.Hub, l.Instances, l.Subscribers, l.Rate, l.All.P50, l.All.P99, l.All.Max, l.Cross.P50, l.Cross.P99,
			l.Delivered, l.Expected, l.Gaps, l.Ended, l.CPUSeconds)
	}
	if len(r.Ceiling) > 0 {
		fmt.Fprintln(w, "ceiling of one instance               events/s to every subscriber  gaps  ended")
		for _, c := range r.Ceiling {
			fmt.Fprintf(w, "%-4s %3d subs, %d publishers        %12.0f                  %5d  %5d\n", c.Hub, c.Subscribers, c.Publishers, c.EventsPerS, c.Gaps, c.Ended)
		}
	}
	return nil
}

// eventOf returns an unnamed event with the given data.
func eventOf(data string) sse.Event { return sse.Event{Data: data} }
