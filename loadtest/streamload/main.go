// Command streamload puts the demo server (cmd/demo) under load and under
// hostile clients on loopback, and checks that it holds: every stream that
// completes is byte-exact, streams that stall or misbehave are ended by the
// server's timeouts, the admission limit turns streams away and recovers,
// one client cannot take every place from the others, memory stays
// bounded, goroutines return to their baseline, and a shutdown with
// streams open ends them all within its grace period.
//
//	go run -C loadtest ./streamload                  # every scenario at full size
//	go run -C loadtest ./streamload -scenarios streams -streams 1000 -hold 20s
//	go run -C loadtest ./streamload -demo /tmp/demo  # a demo binary built already
//	go run -C loadtest ./streamload -scenarios streams -reference  # beside a net/http reference
//
// (from the repository's root; in loadtest/, go run ./streamload). It must
// run inside the loadtest module or the library's: it builds the demo (go
// build ./cmd/demo in the library's module, which go list -m finds)
// unless -demo names a binary, and runs it as a child process for each
// scenario, with a data directory of its own, on 127.0.0.1 and a port the
// system picks, and the flags the scenario needs. Everything is bounded in
// count and time, and the program stops by itself: the child gets SIGTERM
// at the end of its scenario and is killed if it has not exited 30 s
// later (or, on Linux, if this program dies).
//
// The scenarios (-scenarios picks some, comma-separated):
//
//   - streams: -streams clients (5,000) each keep one stream open against
//     the demo for -hold, starting a new one at most every -period: a mix
//     of /stream/numbers, /export/users.csv, /proxy/numbers and
//     /stream/logs, of which -stalled-percent (10%) are clients that read
//     the headers of an endless stream and then nothing more, with a small
//     socket receive buffer so that the server's writes really block.
//     Checks: each stalled stream is ended by the demo's -stall-timeout
//     (15 s; the demo logs it as stalled, and the client, reading at last,
//     finds the transfer cut); no stream ends cleanly with bytes missing or
//     wrong; every other stream is byte-exact (numbers against
//     the numbers asked for, the export against a SHA-256 of a download
//     made alone before the load, the log against the demo's log file);
//     the demo's RSS and Go heap, sampled every 250 ms, stay under a stated
//     bound and flat (the peak of the hold's second half against its
//     first, scaled by how many more streams ran at once); its goroutines return to their baseline afterwards; and it
//     logs nothing at level ERROR. (With a shorter stall timeout on a
//     machine whose cores are saturated, the demo also ends some streams
//     whose clients are starved of CPU, as it should: they fail detectably,
//     and the byte-exact check fails.)
//     With -reference the same clients run against a plain net/http
//     reference server first (../sidebyside/reference: the same routes and
//     bytes, the demo's SQLite database opened read-only, a log of its own,
//     the same stall timeout as write deadlines), then against the demo,
//     each started fresh; the demo seeds the database before both, and
//     both exports must be identical to the one it served then. The
//     clients' checks apply to both, those on the demo's log and counters
//     to the demo; a table compares their RSS per active stream beyond the
//     idle server's (demo ÷ reference), heaps, goroutines and CPU.
//   - slowloris: -slowloris clients send a request's headers one byte a
//     second and never finish, and -non-readers clients send a request and
//     never read the answer. The demo, run with -read-header-timeout,
//     must close the first after that long, end the second by its stall
//     timeout, answer normal requests byte-exact meanwhile, and return to
//     its baseline of goroutines.
//   - admission: the demo runs with -max-streams K; K streams are opened
//     and held, then -over more: exactly that many are answered 503 with a
//     Retry-After header and a message, the K complete byte-exact, and
//     once they have ended K new streams are admitted at once.
//   - shutdown: -shutdown-streams streams are opened (numbers, the log as
//     text and as events, /events), then the demo gets SIGTERM. Every
//     stream must end within the demo's -shutdown-timeout, the event
//     streams with a "shutdown" event, the others as a failed transfer
//     (never a clean end that would look complete), and the demo must exit
//     with status 0 within the timeout.
//   - hog: one client address asks for many endless streams at once and
//     reads none of them. As a control, the demo first runs with
//     -max-streams -hog-max-streams (300) and no cap per client: the
//     attacker's -hog-streams (300) take every place, and a normal
//     client's stream is answered 503. Then the demo runs with
//     -max-streams-per-client -hog-per-client (15, its default for 300):
//     -hog-clients normal clients (49), each from an address of its own
//     (127.0.0.2 on: Linux routes all of 127.0.0.0/8 to the loopback
//     interface), keep a numbers stream, an export and a log stream
//     running for -hold, and meanwhile the attacker, from 127.0.0.1, asks
//     for its streams at once: one number a minute for an hour, and
//     /events, too quiet for the stall timeout ever to end them. Checks:
//     the attacker gets exactly its share, and 429 with Retry-After and a
//     message for every other stream; its streams stay open until it lets
//     go; every normal stream is byte-exact, none answered 503 or 429; the
//     demo counts the refusals as rejected in /metrics and its log; once
//     the attacker lets go, every place comes back, its address gets its
//     share again at once, and the demo's goroutines return to their
//     baseline.
//
// Each scenario prints a table of its checks, PASS or FAIL, and its
// figures; the program exits with status 1 if any check failed. The same
// scenarios run at a small size in the package's test (go test -C loadtest
// ./streamload), with the demo built with -race, and at full size with go
// test -tags long.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

func main() {
	cli.Main("streamload", func(ctx context.Context) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	})
}

// errFailed reports a run in which a check failed; the tables say which.
var errFailed = errors.New("a check failed")

// run runs the scenarios that args (without the program name) select,
// printing their tables to stdout and the demo's warnings to stderr. It
// returns errFailed if a check failed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	limit, err := proc.RaiseFileLimit()
	if err != nil {
		return err
	}
	if need := cfg.filesNeeded(); need > limit {
		return fmt.Errorf("the scenarios need about %d file descriptors, and the limit (ulimit -n, hard) is %d", need, limit)
	}
	tmp, err := os.MkdirTemp("", "streamload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := cfg.demo
	if bin == "" {
		fmt.Fprintln(stdout, "building the demo …")
		if bin, err = buildDemo(ctx, tmp); err != nil {
			return err
		}
	}
	failed := false
	for _, sc := range scenarios {
		if !cfg.selected[sc.name] {
			continue
		}
		res, err := sc.run(ctx, cfg, bin, tmp, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		if err := res.print(stdout); err != nil {
			return err
		}
		failed = failed || !res.passed()
	}
	if failed {
		return errFailed
	}
	return nil
}

// scenario is one of the program's scenarios.
type scenario struct {
	name string
	run  func(ctx context.Context, cfg config, bin, tmp string, stderr io.Writer) (*result, error)
}

// scenarios are the scenarios, in the order they run.
var scenarios = []scenario{
	{"streams", runStreams},
	{"slowloris", runSlowloris},
	{"admission", runAdmission},
	{"shutdown", runShutdown},
	{"hog", runHog},
}
