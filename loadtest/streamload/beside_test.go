package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/proc"
	"github.com/ginstream/ginstream/loadtest/sidebyside/reference"
)

// TestReferenceStreams runs the streams scenario's clients against the
// reference server of -reference at a tiny size, on the database the demo
// seeds, and requires what the clients judge to pass — the export
// identical to the demo's, every stream byte-exact, every stalled stream
// cut by the stall timeout, the server back to its baseline — and the
// figures that -reference compares to be there.
func TestReferenceStreams(t *testing.T) {
	bin := demoBinary(t, demoRace)
	if _, err := proc.RaiseFileLimit(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GORACE", demoGORACE) // for the demo that seeds the database
	cfg := defaultConfig()
	cfg.reference = true
	cfg.streams = 50
	cfg.hold = 3 * time.Second
	cfg.period = time.Second
	cfg.streamLength = time.Second
	cfg.stallTimeout = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	refBin, err := reference.Build(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(tmp, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	export, err := seedStreams(ctx, cfg, bin, data, &stderr)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, &stderr)
	}
	res := &result{title: "streams against the reference server"}
	l, err := loadReference(ctx, cfg, refBin, data, &export, &stderr, res)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, &stderr)
	}
	var out strings.Builder
	if err := res.print(&out); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	if !res.passed() {
		t.Errorf("failed checks: %s\nstderr:\n%s", strings.Join(res.failed(), "; "), &stderr)
	}
	f := figuresOf(l)
	switch {
	case f.exact == 0 || f.cut == 0:
		t.Errorf("%d byte-exact streams, %d stalled ones cut: want some of each", f.exact, f.cut)
	case f.peak.rss <= f.base.rss || f.perActive() <= 0:
		t.Errorf("RSS idle %d, peak %d, %.0f bytes per active stream: want growth", f.base.rss, f.peak.rss, f.perActive())
	case f.peak.heap <= 0 || f.peak.live <= 0 || f.peak.active <= 0:
		t.Errorf("peak heap %d, live heap %d, active streams %d: want each positive", f.peak.heap, f.peak.live, f.peak.active)
	case f.peak.goroutines <= f.base.goroutines:
		t.Errorf("goroutines idle %d, peak %d: want more under load", f.base.goroutines, f.peak.goroutines)
	}
}
