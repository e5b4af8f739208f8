package main

import (
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ginstream/ginstream/runs"
)

// TestRunsCluster runs two demo instances on one NATS server:
//
//   - a run started on A is attached on B, from its first event; the
//     client leaves and resumes on B with its Last-Event-ID, and gets
//     every number once;
//   - a DELETE served by B cancels a run that A runs, and the client
//     attached on A gets the cancelled end;
//   - an Idempotency-Key used on A and again on B gives the same run.
func TestRunsCluster(t *testing.T) {
	ns := startTestNATS(t)
	args := []string{"-users", "10", "-publish=false", "-nats", ns.url()}
	a := startDemo(t, t.TempDir(), nil, args...)
	b := startDemo(t, t.TempDir(), nil, args...)

	t.Run("started on A, watched and resumed on B", func(t *testing.T) {
		const n = 100
		id := startRun(t, a, "kind=count&n=100&interval=20")
		s := openEvents(t, b, "/runs/"+id, "")
		first := s.take(t, eventNumber, 30)
		s.close()
		rest := runItemsOf(t, openEvents(t, b, "/runs/"+id, first[29].ID))
		got := joinNumbers(first, rest)
		if !slices.Equal(got, numbersTo(n)) {
			t.Fatalf("numbers on B, before and after resuming: %v, want 1 to %d, each once", got, n)
		}
		if info := rest[len(rest)-1].endInfo(t); info.State != runs.Completed || info.Items != n {
			t.Errorf("the end on B says %+v, want completed with %d items", info, n)
		}
		onA := readRunNDJSON(t, a, id, "")
		if got := named(onA, eventNumber); !slices.Equal(got, numbersTo(n)) {
			t.Errorf("numbers on A: %v, want 1 to %d", got, n)
		}
	})

	t.Run("DELETE on B cancels A's run", func(t *testing.T) {
		id := startRun(t, a, "kind=count&n=1000&interval=50")
		s := openEvents(t, a, "/runs/"+id, "")
		s.take(t, eventNumber, 2)
		if res, body := sendRun(t, b, http.MethodDelete, "/runs/"+id, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("DELETE on B: %s %q", res.Status, body)
		}
		items := runItemsOf(t, s)
		if info := items[len(items)-1].endInfo(t); info.State != runs.Cancelled {
			t.Errorf("the end on A says %+v, want cancelled", info)
		}
	})

	t.Run("one Idempotency-Key, two instances: one run", func(t *testing.T) {
		resA, _ := postRun(t, a, "kind=count&n=3&interval=0", "cluster-key")
		resB, _ := postRun(t, b, "kind=count&n=3&interval=0", "cluster-key")
		if la, lb := resA.Header.Get("Location"), resB.Header.Get("Location"); resA.StatusCode != http.StatusCreated || la != lb {
			t.Errorf("POST on A: %s %s; on B: %s %s; want 201 and the same run", resA.Status, la, resB.Status, lb)
		}
	})
}

// TestRunsClusterLease kills instance A (a process of its own, so that it
// cannot say goodbye) in the middle of a run that a client watches on B:
// the client gets a failed end within the Manager's lease, and a margin.
func TestRunsClusterLease(t *testing.T) {
	ns := startTestNATS(t)
	args := []string{"-users", "10", "-publish=false", "-nats", ns.url()}
	a := startDemoProcess(t, append(args, "-data", t.TempDir())...)
	b := startDemo(t, t.TempDir(), nil, args...)

	id := startRun(t, a.demo, "kind=count&n=1000&interval=50")
	s := openEvents(t, b, "/runs/"+id, "")
	s.take(t, eventNumber, 3)
	a.kill(t)
	killed := time.Now()
	items := runItemsOf(t, s)
	info := items[len(items)-1].endInfo(t)
	if info.State != runs.Failed {
		t.Errorf("after A was killed, the end on B says %+v, want failed", info)
	}
	if took, limit := time.Since(killed), runs.DefaultLease+5*time.Second; took > limit {
		t.Errorf("the failed end came %v after A was killed, want within %v (the lease and a margin)", took, limit)
	}
}

// demoProcess is the demo's program running in a process of its own.
type demoProcess struct {
	demo *demo // url and client; its stop is not used
	cmd  *exec.Cmd
}

// startDemoProcess builds the demo's program, runs it with args on a free
// port of 127.0.0.1, and waits for its URL; t's end kills it.
func startDemoProcess(t *testing.T, args ...string) *demoProcess {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "demo")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := newDemoOutput()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &demoProcess{demo: &demo{out: out, client: &http.Client{Transport: &http.Transport{}}}, cmd: cmd}
	t.Cleanup(func() { p.kill(t) })
	select {
	case p.demo.url = <-out.url:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the demo process did not print its URL within 2 minutes; output:\n%s", out)
	}
	return p
}

// kill kills the process, as a crash would, and waits for it.
func (p *demoProcess) kill(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	var exit *exec.ExitError
	if err := p.cmd.Wait(); err != nil && !errors.As(err, &exit) {
		t.Errorf("waiting for the demo process: %v", err)
	}
	p.demo.client.CloseIdleConnections()
}
