package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/internal/testscale"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// testConfig is the configuration of the tests: small in the default
// build, where the demo runs under the race detector (demoRace), the
// program's full size with -tags long.
func testConfig() config {
	if testscale.Long {
		return defaultConfig()
	}
	cfg := defaultConfig()
	// Sized for a demo under the race detector, which costs it several
	// times the CPU, on 2 shared cores: with 200 clients and a 2 s stall
	// timeout the demo took 14 of 16 s of CPU, and clients starved of it
	// were rightly cut as stalled.
	cfg.streams = 100
	cfg.hold = 8 * time.Second
	cfg.period = time.Second
	cfg.streamLength = time.Second
	cfg.stallTimeout = 5 * time.Second
	cfg.slowloris = 50
	cfg.nonReaders = 10
	cfg.maxStreams = 20
	cfg.over = 10
	cfg.shutdownStreams = 100
	cfg.shutdownTimeout = 10 * time.Second
	cfg.hogStreams = 100
	cfg.hogMaxStreams = 100
	cfg.hogPerClient = 5 // the demo's default for -max-streams 100: 5%
	cfg.hogClients = 8
	// The race detector's shadow memory multiplies the demo's RSS (5-10x,
	// says its documentation; 1.4 MiB per client beyond the base here).
	// The flat checks on RSS and the live heap still catch growth during
	// the hold.
	cfg.perStream = raceMemoryFactor * defaultPerStream
	return cfg
}

// raceMemoryFactor scales the memory bound's bytes per stream for a demo
// built with -race.
const raceMemoryFactor = 8

// demoRace reports whether the tests build the demo with the race
// detector: in the default test run, so that the busiest code runs under
// it; not at full size (-tags long), whose memory bound and figures are
// those of the demo as deployed.
const demoRace = !testscale.Long

// demoGORACE is the race detector's setting for the demo child: stop at
// the first race, with an exit status of its own. The report goes to the
// child's stderr, which TestScenarios checks.
const demoGORACE = "halt_on_error=1 exitcode=66"

// raceReport is how the race detector starts a report.
const raceReport = "WARNING: DATA RACE"

// demoBinary builds the demo once for the package's tests (with -race if
// race), or returns $STREAMLOAD_DEMO, a demo binary built already.
func demoBinary(t *testing.T, race bool) string {
	t.Helper()
	if bin := os.Getenv("STREAMLOAD_DEMO"); bin != "" {
		return bin
	}
	demoDirOnce.Do(func() { demoDir, demoDirErr = os.MkdirTemp("", "streamload-test-") })
	if demoDirErr != nil {
		t.Fatal(demoDirErr)
	}
	b := demoBuilds[race]
	b.once.Do(func() {
		var flags []string
		dir := filepath.Join(demoDir, "plain")
		if race {
			flags = append(flags, "-race")
			dir = filepath.Join(demoDir, "race")
		}
		if b.err = os.Mkdir(dir, 0o755); b.err != nil {
			return
		}
		b.bin, b.err = buildDemo(context.Background(), dir, flags...)
		if b.err == nil && builtWithRace(b.bin) != race {
			b.err = fmt.Errorf("%s: built with race=%v, but its build information says otherwise", b.bin, race)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

// TestScenarios runs every scenario against the demo, for real, and
// requires every check to pass. Each check can fail: the scenarios count
// what the clients saw and what the demo logged and reported. A demo built
// with the race detector stops at its first race (GORACE), and a race
// report on its stderr fails the scenario.
func TestScenarios(t *testing.T) {
	bin := demoBinary(t, demoRace)
	cfg := testConfig()
	if _, err := proc.RaiseFileLimit(); err != nil {
		t.Fatal(err)
	}
	// The demo child inherits the environment (startDemo).
	t.Setenv("GORACE", demoGORACE)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc, cfg, bin) })
	}
}

// TestStreamsMemory runs the streams scenario at the default test run's
// size against a demo built without the race detector, whose memory is
// the demo's own, and requires every check to pass, among them the RSS
// bound at the program's own bytes per stream and the RSS flat over the
// hold — which TestScenarios, running a demo under the race detector,
// only reports. At full size (-tags long) TestScenarios checks them.
func TestStreamsMemory(t *testing.T) {
	if !demoRace {
		t.Skip("TestScenarios runs the demo without the race detector and checks its RSS")
	}
	bin := demoBinary(t, false)
	cfg := testConfig()
	cfg.perStream = defaultPerStream
	if _, err := proc.RaiseFileLimit(); err != nil {
		t.Fatal(err)
	}
	res := runScenario(t, scenario{"streams", runStreams}, cfg, bin)
	for _, want := range []string{"demo RSS peak under the bound", "RSS flat: peak of the hold's 2nd half vs 1st"} {
		if !slices.ContainsFunc(res.checks, func(c check) bool { return c.name == want }) {
			t.Errorf("no check %q in the result", want)
		}
	}
}

// runScenario runs sc against the demo binary bin with cfg and fails t
// with the table if a check failed, or with the demo's stderr if the demo
// reported a data race. It returns the result.
func runScenario(t *testing.T, sc scenario, cfg config, bin string) *result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	res, err := sc.run(ctx, cfg, bin, t.TempDir(), &stderr)
	// sc.run has waited for the demo: stderr is complete. A demo halted
	// by a race fails its scenario for that reason alone.
	if strings.Contains(stderr.String(), raceReport) {
		t.Fatalf("the demo reported a data race (GORACE=%q); its stderr:\n%s", demoGORACE, &stderr)
	}
	if err != nil {
		t.Fatalf("%v\ndemo's stderr:\n%s", err, &stderr)
	}
	var out strings.Builder
	if err := res.print(&out); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	if !res.passed() {
		t.Errorf("failed checks: %s\ndemo's stderr:\n%s", strings.Join(res.failed(), "; "), &stderr)
	}
	return res
}
