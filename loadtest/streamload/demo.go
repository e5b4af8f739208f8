package main

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/librarybuild"
)

// Bounds on the demo child's lifetime.
const (
	// demoStartTimeout bounds the wait for the demo's URL (it seeds its
	// database first).
	demoStartTimeout = 2 * time.Minute
	// demoStopTimeout is how long the demo may take to exit after SIGTERM
	// at the end of a scenario before it is killed.
	demoStopTimeout = 30 * time.Second
)

// buildDemo builds the demo into dir, with the extra go build flags given
// (such as -race), and returns the binary's path.
func buildDemo(ctx context.Context, dir string, buildFlags ...string) (string, error) {
	return librarybuild.Build(ctx, filepath.Join(dir, "demo"), "./cmd/demo", buildFlags...)
}

// builtWithRace reports whether the binary's build information records
// -race.
func builtWithRace(bin string) bool {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return false
	}
	for _, st := range info.Settings {
		if st.Key == "-race" {
			return st.Value == "true"
		}
	}
	return false
}

// serverProcess is a server running as a child process — the demo, or
// with -reference the reference server — owned by the scenario that
// started it: startDemo or startReference starts it, and stop (or signal
// and wait) ends it and joins the goroutine that reads its output.
type serverProcess struct {
	name    string // "demo" or "reference", for errors
	cmd     *exec.Cmd
	addr    string // host:port it listens on
	log     *demoLog
	metrics *http.Client // for /metrics, one connection
	active  string       // the metric of its active streams, in /metrics
	race    bool         // built with the race detector (builtWithRace)

	done    chan struct{} // closed once the process has exited
	exitErr error         // why it exited; set before done is closed
	exitAt  time.Time     // when it exited; set before done is closed
}

// demoURL matches the line with which the demo says it is ready.
var demoURL = regexp.MustCompile(`^ginstream demo: open (http://\S+)/ in a browser$`)

// demoActive is the demo's gauge of active streams.
const demoActive = "ginstream_active_streams"

// startDemo starts the demo binary with a data directory of its own under
// tmp (see startDemoIn).
func startDemo(ctx context.Context, bin, tmp string, stderr io.Writer, flags ...string) (*serverProcess, error) {
	data, err := os.MkdirTemp(tmp, "data-")
	if err != nil {
		return nil, err
	}
	return startDemoIn(ctx, bin, data, stderr, flags...)
}

// startDemoIn starts the demo binary with the data directory data, on
// 127.0.0.1 at a port the system picks, with the given extra flags, and
// waits until it says where it listens (see startServer).
func startDemoIn(ctx context.Context, bin, data string, stderr io.Writer, flags ...string) (*serverProcess, error) {
	// Every client of the load comes from 127.0.0.1: the demo's cap per
	// client address would turn most of them away.
	args := append([]string{"-addr", "127.0.0.1:0", "-data", data, "-max-streams-per-client", "0"}, flags...)
	return startServer(ctx, "demo", bin, args, demoURL, filepath.Join(data, "demo.log"), demoActive, stderr)
}

// startServer starts bin with args and waits until it prints a line
// matching ready, whose group is where it listens (host:port, or a URL of
// it). Its stderr goes to stderr; its stdout (its log) is parsed into log,
// whose file is logFile, the log that /stream/logs follows. active is the
// metric of its active streams in /metrics.
func startServer(ctx context.Context, name, bin string, args []string, ready *regexp.Regexp, logFile, active string, stderr io.Writer) (*serverProcess, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "PORT=", "DATA_DIR=")
	cmd.Stderr = stderr
	cmd.SysProcAttr = childAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &serverProcess{
		name:    name,
		cmd:     cmd,
		log:     newDemoLog(logFile),
		metrics: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}, Timeout: 30 * time.Second},
		active:  active,
		race:    builtWithRace(bin),
		done:    make(chan struct{}),
	}
	addr := make(chan string, 1)
	go d.read(stdout, ready, addr)
	timer := time.NewTimer(demoStartTimeout)
	defer timer.Stop()
	select {
	case a := <-addr:
		if u, err := url.Parse(a); err == nil && u.Host != "" {
			a = u.Host
		}
		d.addr = a
		return d, nil
	case <-d.done:
		return nil, fmt.Errorf("%s exited before serving: %v\n%s", name, d.exitErr, d.log.tail())
	case <-timer.C:
		d.stop()
		return nil, fmt.Errorf("%s did not serve within %v\n%s", name, demoStartTimeout, d.log.tail())
	case <-ctx.Done():
		d.stop()
		return nil, ctx.Err()
	}
}

// read reads the server's output to its end, sending the address that the
// line matching ready announces on addr, then waits for the process and
// closes done.
func (d *serverProcess) read(stdout io.Reader, ready *regexp.Regexp, addr chan<- string) {
	defer close(d.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	announced := false
	for sc.Scan() {
		line := sc.Text()
		if !announced {
			if m := ready.FindStringSubmatch(line); m != nil {
				announced = true
				addr <- m[1]
				continue
			}
		}
		d.log.add(line)
	}
	if err := sc.Err(); err != nil {
		// A line too long to parse: keep the pipe drained so that the
		// server never blocks on its log.
		d.log.add("streamload: reading the " + d.name + "'s output: " + err.Error())
		_, _ = io.Copy(io.Discard, stdout)
	}
	d.exitErr = d.cmd.Wait()
	d.exitAt = time.Now()
}

// pid returns the process id.
func (d *serverProcess) pid() int { return d.cmd.Process.Pid }

// terminate sends SIGTERM, as a deploy would.
func (d *serverProcess) terminate() error { return d.cmd.Process.Signal(syscall.SIGTERM) }

// wait waits for the process to exit, at most timeout, and returns
// whether it did.
func (d *serverProcess) wait(timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-d.done:
		return true
	case <-t.C:
		return false
	}
}

// stop ends the server: SIGTERM, then SIGKILL if it has not exited within
// demoStopTimeout. It waits for the process and its output's reader, and
// returns the process's error (nil for exit status 0).
func (d *serverProcess) stop() error {
	d.metrics.CloseIdleConnections()
	select {
	case <-d.done:
		return d.exitErr
	default:
	}
	_ = d.terminate()
	if !d.wait(demoStopTimeout) {
		_ = d.cmd.Process.Kill()
		<-d.done
		return fmt.Errorf("%s: killed after not exiting within %v of SIGTERM", d.name, demoStopTimeout)
	}
	return d.exitErr
}

// scrape reads the server's /metrics and returns each sample by its series
// ("name{labels}").
func (d *serverProcess) scrape(ctx context.Context) (samples, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.metrics.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(body)
}

// samples are metrics by series, as the demo's /metrics writes them:
// name{labels}.
type samples map[string]float64

// parseMetrics parses the Prometheus text format.
func parseMetrics(text []byte) (samples, error) {
	s := make(samples)
	for line := range bytes.Lines(text) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		i := bytes.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("metrics: malformed line %q", line)
		}
		v, err := strconv.ParseFloat(string(line[i+1:]), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: line %q: %w", line, err)
		}
		s[string(line[:i])] = v
	}
	return s, nil
}

// sum adds up the samples of the metric name whose labels contain every
// one of labels (such as `outcome="stalled"`).
func (s samples) sum(name string, labels ...string) float64 {
	var total float64
	for series, v := range s {
		n, rest, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(rest, l)
		}
		if ok {
			total += v
		}
	}
	return total
}
