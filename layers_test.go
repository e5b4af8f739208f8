package ginstream_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// layers says which ginstream packages each library package may import
// (docs/ARCHITECTURE.md): data flows handlers → sse → sink → generator,
// never back up.
var layers = map[string][]string{
	"generator":      {"internal/nowait"},
	"sink":           {"generator", "internal/nowait", "internal/ownstack"},
	"sse":            {"sink", "generator", "sse/internal/topiclog", "internal/rawquery"},
	"sse/natshub":    {"sse", "sink", "generator", "sse/internal/topiclog", "internal/natsname"},
	"sse/hubtest":    {"sse", "sink", "generator"},
	"runs":           {"sse", "sink", "generator", "internal/accept"},
	"runs/natsruns":  {"runs", "sse/natshub", "sink", "internal/natsname"},
	"runs/storetest": {"runs"},
	"streammetrics":  {"sink", "generator"},
	"ticket":         {},
	"handlers":       {"runs", "sse", "sink", "generator", "internal/accept", "internal/rawquery"},
}

// TestLayers fails if a library package imports a ginstream package that
// its layer may not: a request's path through the code goes only down.
func TestLayers(t *testing.T) {
	const module = "github.com/ginstream/ginstream/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		allowed, ok := layers[pkg]
		if !ok {
			continue // commands, tests and internal packages
		}
		checked++
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			if !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s; its layer may import only %v", pkg, dep, allowed)
			}
		}
	}
	if checked != len(layers) {
		t.Errorf("checked %d packages; want the %d of the table (was one renamed?)", checked, len(layers))
	}
}
