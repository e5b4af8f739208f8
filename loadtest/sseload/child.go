package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// childStopTimeout is how long the child may take to exit once told to,
// before it is killed.
const childStopTimeout = 10 * time.Second

// child is the server process of a run, owned by the run: start starts
// it, and stop ends and waits for it.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	kill   context.CancelFunc // kills the process
	addr   string             // where it listens
	client *http.Client       // for its debug endpoints
}

// startChild starts the server child with the given events handler
// (handlerSSE, handlerDirect or handlerReference) and waits for its
// address. Its stderr goes to stderr.
func startChild(ctx context.Context, cfg config, handler string, stderr io.Writer) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// Whatever happens, the child exits after its lifetime: the run
	// takes no longer than the window, the warmup and the drain, plus
	// the time to connect.
	lifetime := 2*(cfg.warmup+cfg.duration+drainTimeout) + 5*time.Minute
	args := []string{
		serveFlag,
		"-handler=" + handler,
		"-rate=" + strconv.FormatFloat(cfg.rate, 'g', -1, 64),
		"-payload=" + strconv.Itoa(cfg.payload),
		"-lifetime=" + lifetime.String(),
	}
	killCtx, kill := context.WithCancel(ctx)
	cmd := exec.CommandContext(killCtx, exe, args...)
	cmd.Stderr = stderr
	ch := &child{cmd: cmd, kill: kill}
	if ch.stdin, err = cmd.StdinPipe(); err != nil {
		kill()
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		kill()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		kill()
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		ch.stop()
		return nil, fmt.Errorf("server child: reading its address: %w", err)
	}
	ch.addr = strings.TrimSpace(line)
	ch.client = &http.Client{Transport: &http.Transport{}, Timeout: time.Minute}
	return ch, nil
}

// stop tells the child to exit by closing its stdin, kills it if it has
// not within childStopTimeout, and waits for it.
func (ch *child) stop() error {
	if ch.client != nil {
		ch.client.CloseIdleConnections()
	}
	ch.stdin.Close()
	t := time.AfterFunc(childStopTimeout, ch.kill)
	err := ch.cmd.Wait()
	t.Stop()
	ch.kill()
	if err != nil {
		return fmt.Errorf("server child: %w", err)
	}
	return nil
}

// pid returns the child's process id.
func (ch *child) pid() int { return ch.cmd.Process.Pid }

// get GETs a debug path of the child and returns the body.
func (ch *child) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ch.addr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := ch.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, err
}

// startPublishing tells the child's publisher to start.
func (ch *child) startPublishing(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ch.addr+publishPath, nil)
	if err != nil {
		return err
	}
	resp, err := ch.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("POST %s: %s", publishPath, resp.Status)
	}
	return nil
}

// snapshot takes the child's memory figures, after a GC if gc, with its
// RSS from /proc.
func (ch *child) snapshot(ctx context.Context, gc bool) (Snapshot, error) {
	path := memPath
	if gc {
		path += "?gc=1"
	}
	body, err := ch.get(ctx, path)
	if err != nil {
		return Snapshot{}, err
	}
	var m childMem
	if err := json.Unmarshal(body, &m); err != nil {
		return Snapshot{}, fmt.Errorf("%s: %w", memPath, err)
	}
	rss, err := proc.RSS(ch.pid())
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{
		RSS:         rss,
		HeapInuse:   m.HeapInuse,
		StackInuse:  m.StackInuse,
		Goroutines:  m.Goroutines,
		Subscribers: m.Subscribers,
		Published:   m.Published,
		MaxLagMs:    float64(m.MaxLag) / float64(time.Millisecond),
	}, nil
}

// saveProfiles writes the child's heap profile and goroutine dump into
// dir, named after the phase.
func (ch *child) saveProfiles(ctx context.Context, dir, phase string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, path := range map[string]string{
		phase + "-heap.pb.gz":     pprofPath + "heap",
		phase + "-goroutines.txt": pprofPath + "goroutine?debug=1",
	} {
		body, err := ch.get(ctx, path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// maxCPUProfile bounds a CPU profile of the child, below its client's
// timeout.
const maxCPUProfile = 50 * time.Second

// profileCPU profiles the CPU of both processes for d (whole seconds, at
// most maxCPUProfile) into dir: the child's as <handler>-load-cpu.pb.gz,
// this process's (the clients) as <handler>-clients-cpu.pb.gz. It returns a function that
// waits for both profiles to be written.
func (ch *child) profileCPU(ctx context.Context, dir, handler string, d time.Duration) (wait func() error, err error) {
	seconds := int(min(max(d, time.Second), maxCPUProfile) / time.Second)
	f, err := os.Create(filepath.Join(dir, handler+"-clients-cpu.pb.gz"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	var wg sync.WaitGroup
	var childErr error
	wg.Go(func() {
		var body []byte
		body, childErr = ch.get(ctx, pprofPath+"profile?seconds="+strconv.Itoa(seconds))
		if childErr == nil {
			childErr = os.WriteFile(filepath.Join(dir, handler+"-load-cpu.pb.gz"), body, 0o644)
		}
	})
	timer := time.NewTimer(time.Duration(seconds) * time.Second)
	return func() error {
		select {
		case <-timer.C:
		case <-ctx.Done():
		}
		pprof.StopCPUProfile()
		wg.Wait()
		return errors.Join(f.Close(), childErr)
	}, nil
}
