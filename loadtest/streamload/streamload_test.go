package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/internal/testscale"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// testConfig is the configuration of the tests: small in the default
// build, the program's full size with -tags long.
func testConfig() config {
	if testscale.Long {
		return defaultConfig()
	}
	cfg := defaultConfig()
	cfg.streams = 200
	cfg.hold = 8 * time.Second
	cfg.period = time.Second
	cfg.streamLength = time.Second
	cfg.stallTimeout = 2 * time.Second
	cfg.slowloris = 50
	cfg.nonReaders = 10
	cfg.maxStreams = 20
	cfg.over = 10
	cfg.shutdownStreams = 100
	cfg.shutdownTimeout = 10 * time.Second
	return cfg
}

// demoBinary builds the demo once for the package's tests, or returns
// $STREAMLOAD_DEMO, a demo binary built already.
func demoBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("STREAMLOAD_DEMO"); bin != "" {
		return bin
	}
	demoOnce.Do(func() {
		demoDir, demoErr = os.MkdirTemp("", "streamload-test-")
		if demoErr == nil {
			demoBin, demoErr = buildDemo(context.Background(), demoDir)
		}
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoBin
}

// TestScenarios runs every scenario against the demo, for real, and
// requires every check to pass. Each check can fail: the scenarios count
// what the clients saw and what the demo logged and reported.
func TestScenarios(t *testing.T) {
	bin := demoBinary(t)
	cfg := testConfig()
	if _, err := proc.RaiseFileLimit(); err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var stderr bytes.Buffer
			res, err := sc.run(ctx, cfg, bin, t.TempDir(), &stderr)
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
		})
	}
}
