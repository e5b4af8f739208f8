// Command sidebyside measures the ginstream demo (cmd/demo) against a
// plain net/http reference server the way a user meets both: each server
// its own process, a client in another process reading as fast as it can,
// all on the same machine and in the same run, each server fresh for each
// measurement. It prints one table: per workload the reference's figure,
// the demo's, their ratio, each server's CPU seconds and RSS growth, and
// whether every body was byte-exact.
//
//	go run -C loadtest ./sidebyside                      # default sizes, a few minutes
//	go run -C loadtest ./sidebyside -runs 9 -numbers 50000000
//	go run -C loadtest ./sidebyside -workloads numbers,files
//
// (from the repository's root; in loadtest/, go run ./sidebyside). It must
// run inside the loadtest module or the library's: it builds the demo (go
// build ./cmd/demo in the library's module, which go list -m finds; -demo
// names a binary built already) and the reference server, whose source
// (reference/main.go and the files beside it) package reference embeds and
// builds in the library's module too, so that both servers are compiled by
// the same Go against the same pgx.
//
// The workloads (-workloads picks some, comma-separated):
//
//   - numbers: one GET /stream/numbers?count=N&interval=0 (-numbers,
//     20,000,000 lines). The figure is lines per second; the body must be
//     the lines 1 to N.
//   - numbers-h2c: the same over HTTP/2 without TLS (h2c with prior
//     knowledge: both servers run with -h2c, the client speaks HTTP/2
//     only, and a response over HTTP/1.1 fails the row). TLS would cost
//     both servers alike and hide what the streaming costs.
//   - export: one GET /export/users.csv of -users rows (1,000,000) from
//     PostgreSQL. The program starts a throwaway cluster (initdb and
//     postgres from -pg-bin, as user postgres when run as root), lets the
//     demo create and seed its users table (-db, -users), reads it once to
//     warm the cache, and then serves the same table from both servers.
//     The figure is rows per second. The reference's body must have a
//     header and -users rows, the same on every run; the demo's must be
//     identical to it. Without PostgreSQL the row is skipped, with a note.
//   - files: -file-clients (4) downloads at once of one -file-size file
//     (256 MiB of random bytes) from the demo's reports directory
//     (/reports/NAME) and the reference's. The figure is bytes per second
//     over all of them; every body must be the file.
//   - paced: -paced-streams (2,000) streams at once of
//     /stream/numbers?count=C&interval=MS (-paced-count 10,
//     -paced-interval 1s): mostly idle connections. The figure is the
//     server's RSS growth per stream; every body must be the lines 1 to C.
//
// The demo runs with SQLite, its default, and -users 0 (the export
// workload with -db and the cluster, and -users), and with -max-streams 0
// -max-streams-per-client 0 -max-stream-duration 0, so that no limit of
// its own shapes the figures, and its log line and event ticks an hour
// apart, so that its background work does not count as the workload's.
// The reference (reference/main.go) is the plain net/http handler a Go
// programmer would write: one 64 KiB bufio.Writer flushed only before it
// waits; the export through encoding/csv on that writer over database/sql
// and pgx's rows.Next; files by io.Copy from an *os.File (sendfile).
//
// A measurement starts a server, samples its CPU time (utime + stime from
// /proc/PID/stat) and RSS (VmRSS from /proc/PID/status), runs a client
// process (this program re-executed with -client) that reads every body
// to its end with a 64 KiB buffer, computing its SHA-256, while the RSS is
// sampled every 25 ms, samples the CPU time again and stops the server.
// The client times from the first byte it receives to the last; RSS
// growth is the peak sample less the sample before the client started.
// The client's hashing (about 1.5 GB/s a core with SHA extensions) takes
// CPU from the same cores as the server: on two cores the file downloads
// are bound by it, on both servers alike; the servers' CPU time per byte
// tells them apart.
// Each workload runs -runs times (5) on each server, a fresh one each
// time, the two in turn and the first of each pair swapped every run; the
// table shows medians, and the ratio is the demo's median
// over the reference's. Below the table, notes per workload give the
// servers' CPU time per line, row or byte (less sensitive to a busy
// machine than the throughput), PostgreSQL's for the export (its
// postmaster and backends, from /proc), and how much CPU the clients and
// the machine's other processes used meanwhile: on a busy machine,
// compare the ratios, not the absolute figures.
//
// -workloads sse (not among the defaults) runs SSE broadcast servers
// instead, each fresh as its own process, one after another: a plain
// net/http broadcaster (peers/reference), ginstream (peers/ginstream:
// handlers.Events on an sse.MemHub), go-sse and r3labs/sse (peers/gosse,
// peers/r3labs, as their READMEs show), built in this module with
// internal/broadcast's control endpoints around them; and, only when
// named, the experiments "pooled" (peers/pooled: net/http handlers that
// never write, served by a pool of writers, a design studied for
// ginstream), "hijacked" (peers/hijacked: the same with each
// connection hijacked and the handler returned), "go-sse-gin" and
// "r3labs-gin" (go-sse's and r3labs/sse's servers mounted in gin, as a
// gin app would mount them: broadcast's -gin). One client process
// (-sse-client, with internal/fanout's subscribers) connects
// -sse-subscribers, reads the server's RSS idle, has -sse-rate events
// published for a -sse-window (server CPU per delivery, latency, missed
// or out-of-order ids), then stops reading on one subscriber for
// -sse-stall and counts what the others receive meanwhile. Its table is
// printed after the first (see printSSETable).
//
// The program exits with status 1 if a body was wrong, or an SSE
// subscriber missed an event of the window.
package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

func main() {
	cli.Main("sidebyside", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}

// errIncorrect reports a run in which a body was not what it should be;
// the table says which.
var errIncorrect = errors.New("a body was wrong")

// run runs the program with the given command-line arguments (without
// the program name): the client child if they start with -client,
// otherwise the benchmark, whose table goes to stdout and progress to
// stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch {
	case isClient(args):
		return runClient(ctx, args[1:], stdout)
	case isSSEClient(args):
		return runSSEClient(ctx, args[1:], stdout)
	}
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	var incorrect bool
	if cfg.selectsStreams() {
		rows, err := measureAll(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		if err := printTable(stdout, cfg, rows); err != nil {
			return err
		}
		for _, r := range rows {
			incorrect = incorrect || (!r.skipped() && !r.correct())
		}
	}
	if cfg.selected[sseWorkload] {
		rows, err := measureSSE(ctx, cfg, stderr)
		if err != nil {
			return err
		}
		if err := printSSETable(stdout, cfg, rows); err != nil {
			return err
		}
		for _, r := range rows {
			for _, x := range r.runs {
				incorrect = incorrect || x.problem(cfg.sse.drain) != ""
			}
		}
	}
	if incorrect {
		return errIncorrect
	}
	return nil
}

// selectsStreams reports whether cfg selects a workload of the first
// table (any but sse).
func (cfg config) selectsStreams() bool {
	for _, w := range workloads {
		if cfg.selected[w.name] {
			return true
		}
	}
	return false
}
