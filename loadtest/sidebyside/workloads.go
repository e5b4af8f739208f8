package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/child"
	"github.com/ginstream/ginstream/loadtest/sidebyside/reference"
)

// Bounds on the servers' starts.
const (
	// startTimeout bounds the wait for a server to say where it listens.
	startTimeout = 2 * time.Minute
	// seedTimeout bounds the demo's start that creates and fills the
	// users table.
	seedTimeout = 20 * time.Minute
)

// fileName is the name of the files workload's file in both servers'
// reports directories.
const fileName = "large.bin"

// workload is one row of the table.
type workload struct {
	name  string
	setup func(ctx context.Context, e *env) (*spec, error)
}

// workloads are the workloads, in the order they run and appear in the
// table.
var workloads = []workload{
	{"numbers", setupNumbers},
	{"numbers-h2c", setupNumbersH2C},
	{"export", setupExport},
	{"files", setupFiles},
	{"paced", setupPaced},
}

// env is what the workloads share in a run.
type env struct {
	cfg       config
	demo      string // the demo binary
	reference string // the reference binary
	tmp       string // the run's temporary directory
	progress  io.Writer
}

// spec is a workload as set up for a run: its requests, the servers'
// flags and what every body must be.
type spec struct {
	label    string   // the table's first column
	path     string   // what the client GETs
	conns    int      // requests at once
	demoArgs []string // the demo's flags beyond the common ones
	demoData func(dir string) error
	refArgs  []string // the reference's flags beyond -addr
	// h2c, if set, runs the workload over HTTP/2 without TLS: both
	// servers with -h2c, the client speaking it with prior knowledge.
	h2c bool
	// expect is the SHA-256 (hex) every body must have; empty for the
	// export, whose reference body sets it.
	expect string
	// lines, if positive, is the number of lines every body must have.
	lines int64
	// figure is the row's figure for a measurement, unit its unit, and
	// format prints it.
	figure func(measurement) float64
	format func(float64) string
	// perItem names what the throughput counts ("line", "row", "byte"),
	// for the note on CPU per item; empty for the memory workload.
	perItem string
	items   func(measurement) float64
	// dbCPU, if not nil, returns the database's CPU time so far.
	dbCPU func() (time.Duration, error)
	// cleanup, if not nil, releases what setup started.
	cleanup func() error
}

// row is a workload's outcome: its measurements, or why it was skipped.
type row struct {
	name     string
	spec     *spec
	skip     string // why the workload was skipped; empty if it ran
	ref      []measurement
	demo     []measurement
	problems []string // wrong bodies, by run and server
}

// skipped reports whether the workload did not run.
func (r *row) skipped() bool { return r.skip != "" }

// correct reports whether every body was right.
func (r *row) correct() bool { return len(r.problems) == 0 }

// measureAll builds the servers and measures the selected workloads.
func measureAll(ctx context.Context, cfg config, progress io.Writer) ([]*row, error) {
	tmp, err := os.MkdirTemp("", "sidebyside-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	e := &env{cfg: cfg, demo: cfg.demo, tmp: tmp, progress: progress}
	if e.demo == "" {
		fmt.Fprintln(progress, "building the demo …")
		if e.demo, err = buildDemo(ctx, tmp); err != nil {
			return nil, err
		}
	}
	fmt.Fprintln(progress, "building the reference server …")
	if e.reference, err = reference.Build(ctx, tmp); err != nil {
		return nil, err
	}
	var rows []*row
	for _, w := range workloads {
		if !cfg.selected[w.name] {
			continue
		}
		r, err := e.runWorkload(ctx, w)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.name, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// runWorkload sets up a workload and measures it -runs times on each
// server, a fresh one each time, in turn: reference first on odd runs,
// demo first on even ones, so that a drift in the machine's load weighs
// on both alike.
func (e *env) runWorkload(ctx context.Context, w workload) (r *row, err error) {
	r = &row{name: w.name}
	sp, err := w.setup(ctx, e)
	if errors.Is(err, errNoPostgres) {
		r.skip = err.Error()
		fmt.Fprintf(e.progress, "%s: skipped: %s\n", w.name, r.skip)
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	r.spec = sp
	if sp.cleanup != nil {
		defer func() { err = errors.Join(err, sp.cleanup()) }()
	}
	for i := range e.cfg.runs {
		order := []bool{true, false} // reference?
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, isRef := range order {
			m, err := e.measureOnce(ctx, sp, isRef)
			if err != nil {
				return nil, err
			}
			who := "ginstream"
			if isRef {
				who = "reference"
				if sp.expect == "" && len(m.client.Hashes) == 1 && (sp.lines <= 0 || m.client.Lines == sp.lines*int64(sp.conns)) {
					for h := range m.client.Hashes {
						sp.expect = h // the export: the reference's body
					}
				}
			}
			if p := sp.check(m); p != "" {
				r.problems = append(r.problems, fmt.Sprintf("%s, run %d: %s", who, i+1, p))
			}
			if isRef {
				r.ref = append(r.ref, m)
			} else {
				r.demo = append(r.demo, m)
			}
			fmt.Fprintf(e.progress, "%s: %s run %d of %d: %s, server CPU %.2f s, RSS growth %s\n",
				w.name, who, i+1, e.cfg.runs, sp.format(sp.figure(m)), m.serverCPU.Seconds(), mib(m.rssGrowth()))
		}
	}
	return r, nil
}

// measureOnce starts a fresh server, the reference or the demo, measures
// one client run against it and stops it.
func (e *env) measureOnce(ctx context.Context, sp *spec, isRef bool) (m measurement, err error) {
	var srv *child.Server
	if isRef {
		args := append([]string{"-addr", "127.0.0.1:0"}, sp.refArgs...)
		srv, err = child.Start(ctx, "reference", e.reference, args, reference.Ready, startTimeout)
	} else {
		var data string
		if data, err = e.demoDataDir(sp); err != nil {
			return m, err
		}
		defer os.RemoveAll(data)
		srv, err = child.Start(ctx, "demo", e.demo, child.DemoArgs(data, sp.demoArgs...), child.DemoReady, startTimeout)
	}
	if err != nil {
		return m, err
	}
	m, err = measure(ctx, srv, sp.path, sp.conns, sp.h2c, e.cfg.timeout, sp.dbCPU)
	return m, errors.Join(err, srv.Stop())
}

// demoDataDir makes a new data directory for the demo, prepared as the
// workload needs.
func (e *env) demoDataDir(sp *spec) (string, error) {
	dir, err := os.MkdirTemp(e.tmp, "demo-data-")
	if err != nil {
		return "", err
	}
	if sp.demoData != nil {
		if err := sp.demoData(dir); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

// check returns what is wrong with a measurement's bodies, or "".
func (sp *spec) check(m measurement) string {
	r := m.client
	switch {
	case r.Failed > 0:
		return fmt.Sprintf("%d of %d requests failed: %s", r.Failed, sp.conns, strings.Join(r.Errors, "; "))
	case r.OK != sp.conns:
		return fmt.Sprintf("%d of %d bodies read", r.OK, sp.conns)
	case sp.lines > 0 && r.Lines != sp.lines*int64(sp.conns):
		return fmt.Sprintf("%d lines, not %d", r.Lines, sp.lines*int64(sp.conns))
	case sp.expect == "":
		return "no reference body to compare with"
	case r.Hashes[sp.expect] != sp.conns:
		return fmt.Sprintf("%d of %d bodies differ from the expected bytes (SHA-256 %.12s…)", sp.conns-r.Hashes[sp.expect], sp.conns, sp.expect)
	}
	return ""
}

// setupNumbers is the numbers workload: one stream of -numbers lines as
// fast as the client reads.
func setupNumbers(_ context.Context, e *env) (*spec, error) {
	n := e.cfg.numbers
	return &spec{
		label:    fmt.Sprintf("numbers: 1 stream of %s lines, interval 0", thousands(int64(n))),
		path:     fmt.Sprintf("/stream/numbers?count=%d&interval=0", n),
		conns:    1,
		demoArgs: []string{"-users", "0"},
		expect:   numbersHash(n),
		lines:    int64(n),
		figure:   perSecond(func(m measurement) float64 { return float64(m.client.Lines) }),
		format:   func(v float64) string { return fmt.Sprintf("%.1f M lines/s", v/1e6) },
		perItem:  "line",
		items:    func(m measurement) float64 { return float64(m.client.Lines) },
	}, nil
}

// setupNumbersH2C is the numbers workload over HTTP/2 without TLS (h2c
// with prior knowledge), where every write is a DATA frame of the server's
// HTTP/2 implementation and flow control paces the server.
func setupNumbersH2C(ctx context.Context, e *env) (*spec, error) {
	sp, err := setupNumbers(ctx, e)
	if err != nil {
		return nil, err
	}
	sp.label = strings.Replace(sp.label, "numbers:", "numbers-h2c:", 1) + ", HTTP/2 without TLS"
	sp.demoArgs = append(sp.demoArgs, "-h2c")
	sp.refArgs = append(sp.refArgs, "-h2c")
	sp.h2c = true
	return sp, nil
}

// setupExport is the export workload: the users table from PostgreSQL
// as CSV. It starts the cluster and lets the demo seed the table.
func setupExport(ctx context.Context, e *env) (_ *spec, err error) {
	pg, err := startPostgres(ctx, e.cfg.pgBin)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, pg.stop())
		}
	}()
	flags := []string{"-db", pg.url(), "-users", strconv.Itoa(e.cfg.users)}
	if err := e.seed(ctx, flags); err != nil {
		return nil, err
	}
	n := e.cfg.users
	return &spec{
		label:    fmt.Sprintf("export: %s users as CSV from PostgreSQL", thousands(int64(n))),
		path:     "/export/users.csv",
		conns:    1,
		demoArgs: flags,
		refArgs:  []string{"-db", pg.url()},
		lines:    int64(n) + 1, // the header row; no value holds a newline
		figure:   perSecond(func(m measurement) float64 { return float64(m.client.Lines - 1) }),
		format:   func(v float64) string { return fmt.Sprintf("%.2f M rows/s", v/1e6) },
		perItem:  "row",
		items:    func(m measurement) float64 { return float64(m.client.Lines - 1) },
		dbCPU:    pg.cpu,
		cleanup:  pg.stop,
	}, nil
}

// seed starts the demo once with the export's flags, so that it creates
// and fills the users table, and reads the export once, unmeasured, so
// that the table is in PostgreSQL's buffers and its hint bits are set
// before the first measurement, whichever server it is.
func (e *env) seed(ctx context.Context, flags []string) (err error) {
	fmt.Fprintf(e.progress, "export: seeding %s users …\n", thousands(int64(e.cfg.users)))
	start := time.Now()
	data, err := os.MkdirTemp(e.tmp, "demo-seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	srv, err := child.Start(ctx, "demo", e.demo, child.DemoArgs(data, flags...), child.DemoReady, seedTimeout)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, srv.Stop()) }()
	seeded := time.Since(start)
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}, Timeout: e.cfg.timeout}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+srv.Addr()+"/export/users.csv", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("warming the export: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("warming the export: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("warming the export: %s", resp.Status)
	}
	fmt.Fprintf(e.progress, "export: seeded in %s, read once in %s\n", secs(seeded), secs(time.Since(start)-seeded))
	return nil
}

// setupFiles is the files workload: -file-clients downloads at once of
// one -file-size file of random bytes.
func setupFiles(_ context.Context, e *env) (*spec, error) {
	dir := filepath.Join(e.tmp, "files")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, fileName)
	sum, err := writeRandomFile(file, e.cfg.fileSize)
	if err != nil {
		return nil, err
	}
	return &spec{
		label: fmt.Sprintf("files: a %s file, %d downloads at once", sizeName(e.cfg.fileSize), e.cfg.fileClients),
		path:  "/reports/" + fileName,
		conns: e.cfg.fileClients,
		// The demo serves its data directory's reports/: the same file,
		// linked there.
		demoArgs: []string{"-users", "0"},
		demoData: func(data string) error {
			if err := os.Mkdir(filepath.Join(data, "reports"), 0o755); err != nil {
				return err
			}
			return linkOrCopy(file, filepath.Join(data, "reports", fileName))
		},
		refArgs: []string{"-reports", dir},
		expect:  sum,
		figure:  perSecond(func(m measurement) float64 { return float64(m.client.Bytes) }),
		format:  func(v float64) string { return fmt.Sprintf("%.2f GB/s", v/1e9) },
		perItem: "byte",
		items:   func(m measurement) float64 { return float64(m.client.Bytes) },
		cleanup: func() error { return os.RemoveAll(dir) },
	}, nil
}

// setupPaced is the paced workload: -paced-streams streams at once, each
// of -paced-count lines -paced-interval apart.
func setupPaced(_ context.Context, e *env) (*spec, error) {
	n, count := e.cfg.pacedStreams, e.cfg.pacedCount
	ms := e.cfg.pacedInterval.Milliseconds()
	return &spec{
		label: fmt.Sprintf("paced: %s streams at once of %d lines, %v apart (figure: RSS growth per stream)",
			thousands(int64(n)), count, e.cfg.pacedInterval),
		path:     fmt.Sprintf("/stream/numbers?count=%d&interval=%d", count, ms),
		conns:    n,
		demoArgs: []string{"-users", "0"},
		expect:   numbersHash(count),
		lines:    int64(count),
		figure: func(m measurement) float64 {
			return float64(m.rssGrowth()) / float64(n)
		},
		format: func(v float64) string { return fmt.Sprintf("%.1f KiB/stream", v/1024) },
	}, nil
}

// perSecond returns a figure that is count per second of the client's
// time from first byte to last.
func perSecond(count func(measurement) float64) func(measurement) float64 {
	return func(m measurement) float64 {
		if m.client.Elapsed <= 0 {
			return 0
		}
		return count(m) / m.client.Elapsed.Seconds()
	}
}

// numbersHash returns the SHA-256 (hex) of the lines 1 to n.
func numbersHash(n int) string {
	h := sha256.New()
	buf := make([]byte, 0, 64<<10)
	for i := 1; i <= n; i++ {
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, '\n')
		if len(buf) > cap(buf)-32 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}

// writeRandomFile writes size random bytes (always the same ones) to
// path and returns their SHA-256 (hex).
func writeRandomFile(path string, size int64) (_ string, err error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	h := sha256.New()
	src := rand.NewChaCha8([32]byte{'s', 'i', 'd', 'e', 'b', 'y', 's', 'i', 'd', 'e'})
	if _, err := io.CopyN(io.MultiWriter(f, h), src, size); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// linkOrCopy makes dst the file src: a hard link, or a copy where links
// cannot be made.
func linkOrCopy(src, dst string) (err error) {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	_, err = io.Copy(out, in)
	return err
}
