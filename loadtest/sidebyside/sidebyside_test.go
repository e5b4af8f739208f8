package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ginstream/ginstream/loadtest/internal/cli"
	"go.uber.org/goleak"
)

// TestMain runs the client child when the test binary is re-executed as
// one (a measurement starts os.Executable() with -client, which in a test
// is this binary), and otherwise runs the tests and fails if a goroutine
// outlives them: a run must join its samplers and wait for every child.
func TestMain(m *testing.M) {
	if isClient(os.Args[1:]) || isSSEClient(os.Args[1:]) {
		cli.Main("sidebyside", func(ctx context.Context) error {
			return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		})
	}
	goleak.VerifyTestMain(m)
}

// TestSideBySide runs the program at a tiny size, every workload once on
// each server, and checks its table's correctness column: every body
// byte-exact on both servers. The figures are not judged: at this size
// they measure start-up more than streaming. Without PostgreSQL the
// export may be skipped, except in CI (as internal/pgtest does).
// $SIDEBYSIDE_DEMO names a demo binary built already.
func TestSideBySide(t *testing.T) {
	args := []string{
		"-runs", "1",
		"-numbers", "5000",
		"-users", "2000",
		"-file-size", strconv.Itoa(1 << 20),
		"-file-clients", "2",
		"-paced-streams", "5",
		"-paced-count", "3",
		"-paced-interval", "100ms",
	}
	if bin := os.Getenv("SIDEBYSIDE_DEMO"); bin != "" {
		args = append(args, "-demo", bin)
	}
	var out, progress bytes.Buffer
	err := run(t.Context(), args, &out, &progress)
	t.Logf("progress:\n%s\ntable:\n%s", &progress, &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	correct := correctColumn(t, out.String())
	for _, w := range workloads {
		got, ok := correct[w.name]
		switch {
		case !ok:
			t.Errorf("%s: no row in the table", w.name)
		case got == "skipped" && w.name == "export" && !inCI():
			t.Logf("export skipped: no PostgreSQL here (in CI this fails)")
		case got != "yes":
			t.Errorf("%s: correct = %q, want yes", w.name, got)
		}
	}
}

// correctColumn returns the last cell, "correct", of each row of the
// table in out, by workload name: the first cell up to its colon.
func correctColumn(t *testing.T, out string) map[string]string {
	t.Helper()
	rows := make(map[string]string)
	for name, cells := range tableRows(t, out, tableHeader) {
		rows[name] = cells[len(cells)-1]
	}
	return rows
}

// tableRows returns the cells of each row of the table under header in
// out, by the first cell up to its colon.
func tableRows(t *testing.T, out, header string) map[string][]string {
	t.Helper()
	_, table, ok := strings.Cut(out, header+"\n")
	if !ok {
		t.Fatalf("no table header in the output")
	}
	rows := make(map[string][]string)
	for line := range strings.Lines(table) {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		name, _, _ := strings.Cut(cells[0], ":")
		if strings.HasPrefix(name, "---") {
			continue
		}
		rows[name] = cells
	}
	return rows
}

// inCI reports whether the tests run in CI: $CI set to anything but a
// false value.
func inCI() bool {
	v := os.Getenv("CI")
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

// TestCheck is the table's correctness verdict on one measurement.
func TestCheck(t *testing.T) {
	const good, bad = "aaaa", "bbbb"
	sp := &spec{conns: 2, expect: good, lines: 3}
	tests := []struct {
		name   string
		result clientResult
		want   string // a part of the problem; "" for none
	}{
		{"every body right", clientResult{OK: 2, Hashes: map[string]int{good: 2}, Lines: 6}, ""},
		{"a request failed", clientResult{OK: 1, Hashes: map[string]int{good: 1}, Lines: 3, Failed: 1, Errors: []string{"reset"}}, "1 of 2 requests failed: reset"},
		{"a body missing", clientResult{OK: 1, Hashes: map[string]int{good: 1}, Lines: 3}, "1 of 2 bodies read"},
		{"lines missing", clientResult{OK: 2, Hashes: map[string]int{good: 1, bad: 1}, Lines: 5}, "5 lines, not 6"},
		{"a body wrong", clientResult{OK: 2, Hashes: map[string]int{good: 1, bad: 1}, Lines: 6}, "1 of 2 bodies differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sp.check(measurement{client: tt.result})
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Errorf("check = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("no reference body", func(t *testing.T) {
		sp := &spec{conns: 1}
		if got := sp.check(measurement{client: clientResult{OK: 1, Hashes: map[string]int{good: 1}}}); !strings.Contains(got, "no reference body") {
			t.Errorf("check = %q, want no reference body", got)
		}
	})
}

// TestNumbersHash checks the expected numbers body against one written
// out, across the flushes of its buffer.
func TestNumbersHash(t *testing.T) {
	for _, n := range []int{1, 9, 10_000} {
		var b []byte
		for i := 1; i <= n; i++ {
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, '\n')
		}
		if got, want := numbersHash(n), sha256Hex(b); got != want {
			t.Errorf("numbersHash(%d) = %s, want %s", n, got, want)
		}
	}
}

// sha256Hex returns the SHA-256 of b, in hex.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
