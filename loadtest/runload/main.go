// Command runload measures package runs as a user meets it: the demo
// (cmd/demo) as a process of its own, its clients in this one, over
// loopback. It gives the figures of issue 11: how long a client takes to
// attach to a run, and what 1,000 clients attached to one run (kept in
// memory, the Manager's own hub) cost the server, against the same clients
// subscribed to a plain topic.
//
//	go run -C loadtest ./runload                          # the defaults below, about 1 min
//	go run -C loadtest ./runload -clients 200 -attaches 50
//
// (from the repository's root; in loadtest/, go run ./runload).
//
// It builds the demo (loadtest/internal/librarybuild) and starts it three
// times, fresh each time with an empty data directory, with no limit on
// streams and its own background work an hour apart
// (loadtest/internal/child):
//
//  1. attach: it starts a count run of -replay numbers at once (n=1000,
//     interval=0), reads it once to its end over NDJSON (the run has then
//     ended), and attaches -attaches times, one after another, alternately
//     over NDJSON and over Server-Sent Events, each on a fresh connection:
//     the time from the dial to the first number, and to the end event
//     (the whole replay), p50 and p99. Each attach must receive the numbers
//     1 to -replay in order and then the end event, state completed.
//  2. run: it starts a count run of -events numbers, -interval apart
//     (200 × 100 ms, about 20 s), reads the demo's RSS, and attaches
//     -clients Server-Sent Events clients to it (-dials connecting at
//     once; each a goroutine and a small buffered reader). Those that
//     connect after the run's first numbers get them replayed. Measured:
//     the demo's RSS before the clients, while they are attached (the
//     median of samples every -interval from the moment all are attached
//     to the end of the run) and at the end; its CPU time from the moment
//     all are attached to the end, per delivery received in that time;
//     and, for each number published after all were attached, the spread
//     of its arrival across the clients: each client's arrival time less
//     the earliest. All clients are in this process, so the spread is a
//     lower bound on the server's fan-out delay (the earliest arrival is
//     already after the publication). Each client must receive 1 to
//     -events in order, then the end event, state completed.
//  3. topic: the same clients subscribe to the demo's plain topic ticks
//     (/events?topic=ticks, a tick of about 50 bytes of JSON every
//     -interval: the demo runs with -event-interval set to it) for as long
//     as the run lasted, measured the same way: what attaching to a run
//     costs beyond a subscription. Each client must receive consecutive
//     ticks.
//
// It prints one Markdown table, and exits with status 1 after it if any
// check failed. The clients share the machine's cores with the server;
// on a loaded machine the times grow, the memory does not.
package main

import (
	"context"
	"io"
	"os"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

func main() {
	cli.Main("runload", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}

// run runs runload with the given command-line arguments (without the
// program name), printing the table to stdout and its progress to stderr.
// It returns an error if the measurement could not be made or a check
// failed (then after printing the table).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	res, err := measure(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	if err := res.writeTable(stdout); err != nil {
		return err
	}
	return res.verdict()
}
