package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/fanout"
)

// sseWorkload is the name that selects the SSE servers (-workloads sse).
const sseWorkload = "sse"

// sseServer is one of the SSE servers the sse workload compares: a main
// package under peers/, built in this module.
type sseServer struct {
	name       string // in the table and -sse-servers
	pkg        string // its package, from the module's root
	path       string // the event stream the subscribers GET
	experiment bool   // run only when named by -sse-servers
	gin        bool   // its handler mounted in a gin router (broadcast's -gin)
}

// sseServers are the SSE servers, the reference first.
var sseServers = []sseServer{
	{"reference", "./sidebyside/peers/reference", "/events", false, false},
	{"ginstream", "./sidebyside/peers/ginstream", "/events?topic=news", false, false},
	{"go-sse", "./sidebyside/peers/gosse", "/events", false, false},
	{"r3labs", "./sidebyside/peers/r3labs", "/events?stream=messages", false, false},
	// A design under study for ginstream, not a library (docs/BENCHMARKS.md).
	{"pooled", "./sidebyside/peers/pooled", "/events", true, false},
	// The same, with each connection hijacked: what that trade buys.
	{"hijacked", "./sidebyside/peers/hijacked", "/events", true, false},
	// The peers as a gin app mounts them (gin.WrapH): what gin costs a
	// subscriber of a library that writes on the handler's goroutine.
	{"go-sse-gin", "./sidebyside/peers/gosse", "/events", true, true},
	{"r3labs-gin", "./sidebyside/peers/r3labs", "/events?stream=messages", true, true},
}

// sseConfig is the sse workload's configuration.
type sseConfig struct {
	servers      []string      // by name, in sseServers' order
	runs         int           // measurements per server
	subscribers  int           // streams held open at once
	rate         float64       // events published per second
	payload      int           // bytes of each event's data
	warmup       time.Duration // publishing before the window
	window       time.Duration // the measured window
	stall        time.Duration // the stalled-subscriber phase
	stallPayload int           // bytes of each event's data during it
	drain        time.Duration // the longest wait for late events after the window and the stall
	dials        int           // connections set up at once
}

// defaultSSEConfig is the load: 5,000 subscribers, 10 events a
// second, a 20 s window.
func defaultSSEConfig() sseConfig {
	c := sseConfig{
		runs:         1,
		subscribers:  5000,
		rate:         10,
		payload:      64,
		warmup:       2 * time.Second,
		window:       20 * time.Second,
		stall:        60 * time.Second,
		stallPayload: 2048,
		drain:        30 * time.Second,
		dials:        64,
	}
	for _, s := range sseServers {
		if !s.experiment {
			c.servers = append(c.servers, s.name)
		}
	}
	return c
}

// flags registers the sse workload's flags on fs.
func (c *sseConfig) flags(fs *flag.FlagSet) {
	fs.Func("sse-servers", "sse: comma-separated `list` of the servers to run (default "+strings.Join(c.servers, ",")+")", func(v string) error {
		c.servers = nil
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				c.servers = append(c.servers, name)
			}
		}
		return nil
	})
	fs.IntVar(&c.runs, "sse-runs", c.runs, "sse: `number` of measurements per server; the table shows medians")
	fs.IntVar(&c.subscribers, "sse-subscribers", c.subscribers, "sse: `number` of subscribers")
	fs.Float64Var(&c.rate, "sse-rate", c.rate, "sse: `events` broadcast per second")
	fs.IntVar(&c.payload, "sse-payload", c.payload, "sse: `bytes` of data per event")
	fs.DurationVar(&c.warmup, "sse-warmup", c.warmup, "sse: publishing before the measured window")
	fs.DurationVar(&c.window, "sse-window", c.window, "sse: the measured window")
	fs.DurationVar(&c.stall, "sse-stall", c.stall, "sse: how long one subscriber stops reading")
	fs.IntVar(&c.stallPayload, "sse-stall-payload", c.stallPayload, "sse: `bytes` of data per event while one subscriber has stopped reading, to fill its socket within seconds")
	fs.DurationVar(&c.drain, "sse-drain", c.drain, "sse: the longest wait, after the window and after the stall, for every subscriber to receive an event due after it (a server blocked by the stalled subscriber takes all of it)")
	fs.IntVar(&c.dials, "sse-dials", c.dials, "sse: `number` of connections set up at once")
}

// check returns what is wrong with the configuration, or "".
func (c sseConfig) check() string {
	for _, name := range c.servers {
		if !slices.ContainsFunc(sseServers, func(s sseServer) bool { return s.name == name }) {
			return fmt.Sprintf("-sse-servers: unknown server %q", name)
		}
	}
	switch {
	case len(c.servers) == 0:
		return "-sse-servers names none"
	case c.runs < 1:
		return "-sse-runs must be at least 1"
	case c.subscribers < 2:
		return "-sse-subscribers must be at least 2: one stalls, the others must not"
	case !(c.rate > 0 && c.rate <= 10_000):
		return "-sse-rate must be more than 0 and at most 10000"
	case c.payload < fanout.TimestampDigits || c.payload > 1<<16 || c.stallPayload < fanout.TimestampDigits || c.stallPayload > 1<<16:
		return fmt.Sprintf("-sse-payload and -sse-stall-payload must be from %d to 65536", fanout.TimestampDigits)
	case c.warmup < 0 || c.window <= 0 || c.stall <= 0 || c.drain <= 0:
		return "-sse-warmup must not be negative, -sse-window, -sse-stall and -sse-drain must be positive"
	case c.dials < 1:
		return "-sse-dials must be at least 1"
	}
	return ""
}

// selected returns the servers to run, in sseServers' order.
func (c sseConfig) selected() []sseServer {
	var out []sseServer
	for _, s := range sseServers {
		if slices.Contains(c.servers, s.name) {
			out = append(out, s)
		}
	}
	return out
}
