package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ginstream/ginstream/internal/pgtest"
)

// demo is a demo server started by startDemo: run itself, on a free port of
// 127.0.0.1, with a data directory of the test's.
type demo struct {
	url     string // base URL, without a trailing slash
	dataDir string
	out     *demoOutput
	client  *http.Client

	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	stopErr  error
}

// startDemo runs the demo with dataDir and args (which may override the
// defaults: flags given twice take the last value) and the environment env,
// waits until it prints its URL, and stops it when t ends.
func startDemo(t *testing.T, dataDir string, env map[string]string, args ...string) *demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demo{
		dataDir: dataDir,
		out:     newDemoOutput(),
		client:  &http.Client{Transport: &http.Transport{}},
		cancel:  cancel,
		done:    make(chan error, 1),
	}
	// A line every 20 ms, and no rotation while a test compares what it
	// followed with the file.
	all := append([]string{"-addr", "127.0.0.1:0", "-data", dataDir, "-log-interval", "20ms", "-log-max-bytes", "1000000000"}, args...)
	go func() { d.done <- run(ctx, all, func(k string) string { return env[k] }, d.out) }()
	select {
	case d.url = <-d.out.url:
	case err := <-d.done:
		cancel()
		t.Fatalf("run returned before serving: %v\noutput:\n%s", err, d.out)
	case <-time.After(2 * time.Minute):
		cancel()
		<-d.done
		t.Fatalf("the demo did not print its URL within 2 minutes; output:\n%s", d.out)
	}
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("run: %v\noutput:\n%s", err, d.out)
		}
	})
	return d
}

// stop ends the demo as SIGINT does and returns run's error, or an error
// saying that run has not returned within a minute.
func (d *demo) stop() error {
	d.stopOnce.Do(func() {
		d.cancel()
		select {
		case d.stopErr = <-d.done:
		case <-time.After(time.Minute):
			d.stopErr = errors.New("run did not return within a minute of the shutdown")
		}
		d.client.CloseIdleConnections()
	})
	return d.stopErr
}

// get requests path of the demo and returns the response with its body read.
func (d *demo) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	res, err := d.client.Get(d.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	return res, body
}

// demoOutput collects what the demo prints, and sends the URL it prints
// on url.
type demoOutput struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	url  chan string
	sent bool
}

func newDemoOutput() *demoOutput { return &demoOutput{url: make(chan string, 1)} }

var urlLine = regexp.MustCompile(`ginstream demo: open (http://\S+)/ in a browser\n`)

func (o *demoOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if !o.sent {
		if m := urlLine.FindSubmatch(o.buf.Bytes()); m != nil {
			o.url <- string(m[1])
			o.sent = true
		}
	}
	return len(p), nil
}

func (o *demoOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// TestDemoRoutes starts the demo with its defaults and checks the answers
// of every route that ends; TestDemoLogs and TestDemoProxy check the
// others.
func TestDemoRoutes(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil)
	tests := []struct {
		name   string
		path   string
		status int
		ctype  string // Content-Type prefix
		check  func(t *testing.T, res *http.Response, body []byte)
	}{
		{
			name: "numbers", path: "/stream/numbers?count=5&interval=0",
			status: 200, ctype: "text/plain; charset=utf-8",
			check: bodyIs("1\n2\n3\n4\n5\n"),
		},
		{
			name: "numbers, default count", path: "/stream/numbers?interval=0",
			status: 200, ctype: "text/plain",
			check: bodyIs(numberLines(1, 100)),
		},
		{
			name: "numbers, default interval", path: "/stream/numbers?count=3",
			status: 200, ctype: "text/plain",
			check: bodyIs("1\n2\n3\n"),
		},
		{
			name: "numbers, count out of range", path: "/stream/numbers?count=0",
			status: 400, ctype: "application/json",
			check: paramError("count", 1, 1_000_000_000),
		},
		{
			name: "numbers, malformed interval", path: "/stream/numbers?interval=soon",
			status: 400, ctype: "application/json",
			check: paramError("interval", 0, 60_000),
		},
		{
			name: "report", path: "/reports/" + reportName,
			status: 200, ctype: "text/csv",
			check: func(t *testing.T, res *http.Response, body []byte) {
				if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="`+reportName+`"` {
					t.Errorf("Content-Disposition = %q", cd)
				}
				if string(body) != sampleReport {
					t.Errorf("body = %q, want the sample report", body)
				}
			},
		},
		{name: "missing report", path: "/reports/nope.csv", status: 404, ctype: "text/plain"},
		{name: "report outside reports/", path: "/reports/..%2F" + logFile, status: 404, ctype: "text/plain"},
		{name: "database outside reports/", path: "/reports/%2e%2e%2f" + sqliteFile, status: 404, ctype: "text/plain"},
		{
			name: "export", path: "/export/users.csv",
			status: 200, ctype: "text/csv",
			check: func(t *testing.T, res *http.Response, body []byte) {
				if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="users.csv"` {
					t.Errorf("Content-Disposition = %q", cd)
				}
				checkUsersCSV(t, body, 100_000)
			},
		},
		{
			name: "page", path: "/",
			status: 200, ctype: "text/html; charset=utf-8",
			check: func(t *testing.T, res *http.Response, body []byte) {
				if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
					t.Errorf("Content-Security-Policy = %q", csp)
				}
				for _, id := range []string{"numbers-start", "numbers-stop", "numbers-progress", "numbers-output", "logs-start", "logs-output", "download-report", "download-export"} {
					if !bytes.Contains(body, []byte(`id="`+id+`"`)) {
						t.Errorf("the page has no element with id %q", id)
					}
				}
			},
		},
		{name: "script", path: "/static/app.js", status: 200, ctype: "text/javascript; charset=utf-8", check: contains("new AbortController()")},
		{name: "style sheet", path: "/static/style.css", status: 200, ctype: "text/css; charset=utf-8", check: contains(":root")},
		{name: "no other static files", path: "/static/index.html", status: 404, ctype: "text/plain"},
		{
			name: "metrics", path: "/metrics",
			status: 200, ctype: "text/plain; version=0.0.4; charset=utf-8",
			check: func(t *testing.T, res *http.Response, body []byte) {
				// The streams above, and the Go collector's series that
				// cmd/streamload reads.
				for _, want := range []string{
					"# TYPE ginstream_streams_total counter\n",
					"# TYPE ginstream_stream_duration_seconds histogram\n",
					"\ngo_goroutines ", "\ngo_memstats_heap_inuse_bytes ", "\ngo_gc_heap_live_bytes ",
				} {
					contains(want)(t, res, body)
				}
			},
		},
		{name: "unknown path", path: "/nope", status: 404, ctype: "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := d.get(t, tt.path)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body: %.300s", res.StatusCode, tt.status, body)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Errorf("Content-Type = %q, want %q…", ct, tt.ctype)
			}
			if tt.check != nil {
				tt.check(t, res, body)
			}
		})
	}
}

// checkUsersCSV checks an export of the users table: a header row, then
// users 1 to n as newUser makes them, in order.
func checkUsersCSV(t *testing.T, body []byte, n int) {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v", err)
	}
	if len(records) != n+1 {
		t.Fatalf("%d records, want a header and %d users", len(records), n)
	}
	if h := strings.Join(records[0], ","); h != "id,name,email" {
		t.Fatalf("header = %q, want id,name,email", h)
	}
	for i, rec := range records[1:] {
		u := newUser(i + 1)
		if want := []string{strconv.FormatInt(u.id, 10), u.name, u.email}; !slices.Equal(rec, want) {
			t.Fatalf("record %d = %q, want %q", i+1, rec, want)
		}
	}
}

func bodyIs(want string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, _ *http.Response, body []byte) {
		if string(body) != want {
			t.Errorf("body = %.200q, want %.200q", body, want)
		}
	}
}

func contains(want string) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, _ *http.Response, body []byte) {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("body does not contain %q: %.300s", want, body)
		}
	}
}

// paramError checks a 400 body naming the parameter and its range.
func paramError(param string, lo, hi int64) func(*testing.T, *http.Response, []byte) {
	return func(t *testing.T, _ *http.Response, body []byte) {
		var e struct {
			Param string `json:"parameter"`
			Min   int64  `json:"min"`
			Max   int64  `json:"max"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if e.Param != param || e.Min != lo || e.Max != hi || e.Error == "" {
			t.Errorf("error = %+v, want parameter %q from %d to %d and a message", e, param, lo, hi)
		}
	}
}

// numberLines returns the lines of the numbers from to to.
func numberLines(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	return b.String()
}

// TestDemoLogs follows the demo log: the last ?lines= lines of the file
// first, then the lines the demo appends, as they are appended; leaving
// ends the stream on the server as client_gone.
func TestDemoLogs(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10")
	res, err := d.client.Get(d.url + "/stream/logs?lines=3")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, Content-Type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(res.Body)
	var got []string
	for len(got) < 3+5 { // the 3 asked for, and 5 appended since
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d lines: %v", len(got), err)
		}
		got = append(got, strings.TrimSuffix(line, "\n"))
	}
	file := readLines(t, filepath.Join(d.dataDir, logFile))
	start := slices.Index(file, got[0])
	if start < 0 || start+len(got) > len(file) || !slices.Equal(file[start:start+len(got)], got) {
		t.Fatalf("the lines streamed are not consecutive lines of the log:\n%s", strings.Join(got, "\n"))
	}
	if start < backlog-3 {
		t.Errorf("the stream began at line %d of the log, want one of its last 3 lines when asked", start+1)
	}
	res.Body.Close()
	waitForMetric(t, d, `ginstream_streams_total{outcome="client_gone",route="/stream/logs"}`, 1)
}

// waitForMetric polls the demo's /metrics until series has the value want.
// The series's labels must be in the order the client library writes
// them, sorted by name.
func waitForMetric(t *testing.T, d *demo, series string, want int64) {
	t.Helper()
	waitUntil(t, series+" = "+fmt.Sprint(want), func() bool {
		_, body := d.get(t, "/metrics")
		return bytes.Contains(body, []byte(series+" "+fmt.Sprint(want)+"\n"))
	})
}

// TestDemoProxy checks that /proxy/numbers streams what the demo's own
// /stream/numbers sends with its defaults, and counts as a stream of its own.
func TestDemoProxy(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10")
	res, body := d.get(t, "/proxy/numbers?count=3&interval=0&url=http://example.com/")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, Content-Type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if want := numberLines(1, 100); string(body) != want {
		t.Errorf("body = %.100q…, want the upstream's 100 numbers, whatever the query says", body)
	}
	waitForMetric(t, d, `ginstream_streams_total{outcome="completed",route="/proxy/numbers"}`, 1)
	waitForMetric(t, d, `ginstream_streams_total{outcome="completed",route="/stream/numbers"}`, 1)
}

// TestDemoPostgres runs the demo on PostgreSQL and on SQLite with the same
// users: the exports must be the same bytes.
func TestDemoPostgres(t *testing.T) {
	const users = "5000"
	pg := startDemo(t, t.TempDir(), map[string]string{"DATABASE_URL": pgtestURL(t)}, "-users", users)
	lite := startDemo(t, t.TempDir(), nil, "-users", users)
	if out := pg.out.String(); !strings.Contains(out, `database=PostgreSQL seeded=true`) {
		t.Fatalf("the demo did not seed PostgreSQL:\n%s", out)
	}
	pgRes, pgBody := pg.get(t, "/export/users.csv")
	liteRes, liteBody := lite.get(t, "/export/users.csv")
	if pgRes.StatusCode != 200 || liteRes.StatusCode != 200 {
		t.Fatalf("status %d on PostgreSQL, %d on SQLite", pgRes.StatusCode, liteRes.StatusCode)
	}
	checkUsersCSV(t, pgBody, 5000)
	if !bytes.Equal(pgBody, liteBody) {
		t.Errorf("the exports differ: %d bytes from PostgreSQL, %d from SQLite", len(pgBody), len(liteBody))
	}
	for _, h := range []string{"Content-Type", "Content-Disposition"} {
		if pgRes.Header.Get(h) != liteRes.Header.Get(h) {
			t.Errorf("%s: %q from PostgreSQL, %q from SQLite", h, pgRes.Header.Get(h), liteRes.Header.Get(h))
		}
	}
}

// TestDemoShutdown opens streams that would run for days, shuts the demo
// down as SIGINT would, and checks that run returns well before the
// shutdown timeout (an hour here): the shutdown ends open streams instead
// of waiting for them, and the client sees a failed transfer, not a clean
// end.
func TestDemoShutdown(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10", "-shutdown-timeout", "1h")
	var (
		responses []*http.Response
		streams   []*bufio.Reader
	)
	for _, path := range []string{"/stream/numbers?count=36000&interval=100", "/stream/logs"} {
		res, err := d.client.Get(d.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		r := bufio.NewReader(res.Body)
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatalf("%s: first line: %v", path, err)
		}
		responses, streams = append(responses, res), append(streams, r)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- d.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		d.client.CloseIdleConnections()
		for _, res := range responses {
			res.Body.Close() // so that run, and the test, can end
		}
		t.Fatalf("run has not returned 30 s after the shutdown began; output:\n%s", d.out)
	}
	for _, r := range streams {
		if rest, err := io.ReadAll(r); err == nil {
			t.Errorf("a stream ended cleanly at shutdown after %.100q; want a failed transfer", rest)
		}
	}
	out := d.out.String()
	// Each stream's handler returned (the access log logs a request once
	// it has been answered); a stream ended by the shutdown is a client
	// gone, which is logged at Debug only.
	for _, want := range []string{`msg="shutting down"`, "msg=stopped", "msg=request method=GET path=/stream/numbers", "msg=request method=GET path=/stream/logs"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "still open after the shutdown timeout") {
		t.Errorf("the shutdown waited for the timeout:\n%s", out)
	}
}

// TestDemoSeed seeds each database twice: the first time fills the table
// with exactly the generated users, the second changes nothing.
func TestDemoSeed(t *testing.T) {
	const users = 1_234 // not a multiple of the rows per INSERT
	tests := []struct {
		name string
		cfg  func(t *testing.T) config
	}{
		{"SQLite", func(t *testing.T) config { return config{dataDir: t.TempDir()} }},
		{"SQLite in a directory whose name has URI syntax", func(t *testing.T) config {
			dir := filepath.Join(t.TempDir(), "data ?#%20ü")
			if err := prepareDataDir(dir); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if _, err := os.Stat(filepath.Join(dir, sqliteFile)); err != nil {
					t.Errorf("the database is not in the data directory: %v", err)
				}
			})
			return config{dataDir: dir}
		}},
		{"PostgreSQL", func(t *testing.T) config { return config{databaseURL: pgtestURL(t)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg(t)
			ctx := t.Context()
			for i, want := range []bool{true, false} {
				db, err := openDatabase(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				seeded, err := db.seedUsers(ctx, users+i) // a second seed of another size must not add
				if err != nil || seeded != want {
					t.Fatalf("seed %d: seeded, err = %v, %v; want %v, nil", i+1, seeded, err, want)
				}
				checkUsers(t, db, users)
				db.Close()
			}
		})
	}
}

// checkUsers checks that the users table holds exactly users 1 to n as
// newUser makes them.
func checkUsers(t *testing.T, db *database, n int) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), usersQuery)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		i++
		var u user
		if err := rows.Scan(&u.id, &u.name, &u.email); err != nil {
			t.Fatal(err)
		}
		if want := newUser(i); u != want {
			t.Fatalf("row %d = %+v, want %+v", i, u, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("%d users, want %d", i, n)
	}
}

// pgtestURL returns the postgres:// URL of a new database on the test
// binary's throwaway PostgreSQL (skipping the test where PostgreSQL is
// missing, failing it under CI).
func pgtestURL(t *testing.T) string {
	t.Helper()
	dsn := pgtest.Shared(t).NewDatabase(t)
	// dsn is in keyword/value form: host='…' port=… user=… dbname='…' ….
	kv := map[string]string{}
	for _, m := range regexp.MustCompile(`(\w+)=('(?:[^'\\]|\\.)*'|\S+)`).FindAllStringSubmatch(dsn, -1) {
		v := m[2]
		if strings.HasPrefix(v, "'") {
			v = regexp.MustCompile(`\\(.)`).ReplaceAllString(v[1:len(v)-1], "$1")
		}
		kv[m[1]] = v
	}
	q := url.Values{"host": {kv["host"]}, "port": {kv["port"]}, "sslmode": {"disable"}}
	u := url.URL{Scheme: "postgres", User: url.User(kv["user"]), Path: "/" + kv["dbname"], RawQuery: q.Encode()}
	return u.String()
}

// TestDemoSeedRestart restarts the demo on the same data directory: the
// database is not seeded again, the sample report is kept as it is, and
// the demo log is appended to.
func TestDemoSeedRestart(t *testing.T) {
	dir := t.TempDir()
	d := startDemo(t, dir, nil, "-users", "300")
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if out := d.out.String(); !strings.Contains(out, "seeded=true") {
		t.Fatalf("first start did not seed:\n%s", out)
	}
	report := filepath.Join(dir, reportsDir, reportName)
	if err := os.WriteFile(report, []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logBefore, err := os.ReadFile(filepath.Join(dir, logFile))
	if err != nil {
		t.Fatal(err)
	}

	d = startDemo(t, dir, nil, "-users", "500")
	waitUntil(t, "the demo log grows", func() bool {
		fi, err := os.Stat(filepath.Join(dir, logFile))
		return err == nil && fi.Size() > int64(len(logBefore))
	})
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if out := d.out.String(); !strings.Contains(out, "seeded=false") {
		t.Fatalf("second start seeded again:\n%s", out)
	}
	db, err := openDatabase(t.Context(), config{dataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkUsers(t, db, 300)
	if b, err := os.ReadFile(report); string(b) != "edited\n" || err != nil {
		t.Errorf("report after restart = %q, %v; want the edited file kept", b, err)
	}
	logAfter, err := os.ReadFile(filepath.Join(dir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(logAfter, logBefore) {
		t.Errorf("the demo log was not appended to but rewritten")
	}
}

// TestDemoUsers checks that the generated users are the awkward ones the
// export must survive: commas, double quotes and non-ASCII in names and
// emails, all valid UTF-8, and the same for the same id.
func TestDemoUsers(t *testing.T) {
	type feature struct {
		name string
		has  func(string) bool
	}
	features := []feature{
		{"a comma", func(s string) bool { return strings.Contains(s, ",") }},
		{"a double quote", func(s string) bool { return strings.Contains(s, `"`) }},
		{"non-ASCII", func(s string) bool { return strings.ContainsFunc(s, func(r rune) bool { return r > 127 }) }},
		{"plain ASCII", func(s string) bool { return !strings.ContainsFunc(s, func(r rune) bool { return r > 127 }) }},
	}
	counts := map[string]int{}
	for id := 1; id <= 1000; id++ {
		u := newUser(id)
		if u != newUser(id) || u.id != int64(id) {
			t.Fatalf("newUser(%d) is not deterministic", id)
		}
		for field, v := range map[string]string{"name": u.name, "email": u.email} {
			if !utf8.ValidString(v) || v == "" || strings.ContainsAny(v, "\n\r") {
				t.Fatalf("user %d: bad %s %q", id, field, v)
			}
			for _, f := range features {
				if f.has(v) {
					counts[field+" with "+f.name]++
				}
			}
		}
	}
	for _, field := range []string{"name", "email"} {
		for _, f := range features {
			if n := counts[field+" with "+f.name]; n < 50 {
				t.Errorf("%d of 1000 %ss with %s, want at least 50", n, field, f.name)
			}
		}
	}
}

// TestDemoLogAppender runs the log appender with a small size limit and
// checks that a new log starts with a backlog, that lines keep coming, and
// that the log is rotated to demo.log.1 once past the limit.
func TestDemoLogAppender(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, logFile)
	var out bytes.Buffer
	a := &logAppender{path: path, interval: time.Millisecond, maxBytes: 4 << 10, logger: slogTo(&out)}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); a.run(ctx) }()
	defer func() { cancel(); <-done }()

	waitUntil(t, "the log is rotated", func() bool {
		_, err := os.Stat(path + ".1")
		return err == nil
	})
	cancel()
	<-done
	if out.Len() > 0 {
		t.Errorf("the appender logged errors:\n%s", out.String())
	}

	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO |WARN |ERROR) (GET|POST|PUT|DELETE) /\S+ status=\d{3} duration=\d+ms user="([^"\\]|\\.)+"$`)
	rotated := readLines(t, path+".1")
	if len(rotated) < backlog {
		t.Fatalf("rotated log has %d lines, want at least the backlog of %d", len(rotated), backlog)
	}
	if fi, err := os.Stat(path + ".1"); err != nil || fi.Size() < a.maxBytes || fi.Size() > a.maxBytes+200 {
		t.Errorf("rotated log: %v, %v; want a size just past %d", fi.Size(), err, a.maxBytes)
	}
	for i, l := range append(rotated, readLines(t, path)...) {
		if !line.MatchString(l) {
			t.Fatalf("line %d %q does not look like an access log line", i+1, l)
		}
	}
}

// waitUntil polls cond until it holds, failing t if it does not within 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slogTo returns a logger writing to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// readLines returns the lines of a file.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("%s does not end in a newline", path)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestDemoConfig checks flags, environment variables and their precedence.
func TestDemoConfig(t *testing.T) {
	def := config{
		addr: ":8080", dataDir: "data", users: 100_000, logInterval: 500 * time.Millisecond,
		logMaxBytes: 256 << 10, eventInterval: time.Second, shutdownTimeout: 10 * time.Second,
		stallTimeout: 30 * time.Second, maxStreams: 10_000, maxPerClient: 500, maxDuration: time.Hour, readHeaderTimeout: 10 * time.Second,
		publish: true, maxRuns: 64, runRetention: 10 * time.Minute,
	}
	with := func(f func(c *config)) config { c := def; f(&c); return c }
	const pg = "postgres://u@db.example/app"
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want config
		err  error
	}{
		{name: "defaults", want: def},
		{name: "PORT", env: map[string]string{"PORT": "9090"}, want: with(func(c *config) { c.addr = ":9090" })},
		{name: "-addr beats PORT", args: []string{"-addr", "127.0.0.1:7000"}, env: map[string]string{"PORT": "9090"},
			want: with(func(c *config) { c.addr = "127.0.0.1:7000" })},
		{name: "DATA_DIR", env: map[string]string{"DATA_DIR": "/var/demo"}, want: with(func(c *config) { c.dataDir = "/var/demo" })},
		{name: "-data beats DATA_DIR", args: []string{"-data", "here"}, env: map[string]string{"DATA_DIR": "/var/demo"},
			want: with(func(c *config) { c.dataDir = "here" })},
		{name: "DATABASE_URL", env: map[string]string{"DATABASE_URL": pg}, want: with(func(c *config) { c.databaseURL = pg })},
		{name: "-db beats DATABASE_URL", args: []string{"-db", "postgresql://other/x"}, env: map[string]string{"DATABASE_URL": pg},
			want: with(func(c *config) { c.databaseURL = "postgresql://other/x" })},
		{name: "other settings", args: []string{"-users", "5", "-log-interval", "1s", "-log-max-bytes", "99", "-shutdown-timeout", "3s"},
			want: with(func(c *config) {
				c.users, c.logInterval, c.logMaxBytes, c.shutdownTimeout = 5, time.Second, 99, 3*time.Second
			})},
		{name: "not PostgreSQL", args: []string{"-db", "mysql://u@h/db"}, err: errUsage},
		{name: "unknown flag", args: []string{"-verbose"}, err: errUsage},
		{name: "stray argument", args: []string{"serve"}, err: errUsage},
		{name: "negative users", args: []string{"-users", "-1"}, err: errUsage},
		{name: "zero log interval", args: []string{"-log-interval", "0s"}, err: errUsage},
		{name: "event interval", args: []string{"-event-interval", "250ms"}, want: with(func(c *config) { c.eventInterval = 250 * time.Millisecond })},
		{name: "negative event interval", args: []string{"-event-interval", "-1s"}, err: errUsage},
		{name: "stream limits", args: []string{"-stall-timeout", "2s", "-max-streams", "0"},
			want: with(func(c *config) { c.stallTimeout, c.maxStreams, c.maxPerClient = 2*time.Second, 0, 0 })},
		{name: "per client: 5% of the limit", args: []string{"-max-streams", "300"},
			want: with(func(c *config) { c.maxStreams, c.maxPerClient = 300, 15 })},
		{name: "per client: at least 4", args: []string{"-max-streams", "10"},
			want: with(func(c *config) { c.maxStreams, c.maxPerClient = 10, 4 })},
		{name: "per client set", args: []string{"-max-streams", "300", "-max-streams-per-client", "50"},
			want: with(func(c *config) { c.maxStreams, c.maxPerClient = 300, 50 })},
		{name: "no cap per client", args: []string{"-max-streams-per-client", "0"},
			want: with(func(c *config) { c.maxPerClient = 0 })},
		{name: "negative per client", args: []string{"-max-streams-per-client", "-2"}, err: errUsage},
		{name: "stream duration", args: []string{"-max-stream-duration", "10m"}, want: with(func(c *config) { c.maxDuration = 10 * time.Minute })},
		{name: "negative stream duration", args: []string{"-max-stream-duration", "-1s"}, err: errUsage},
		{name: "read header timeout", args: []string{"-read-header-timeout", "1s"}, want: with(func(c *config) { c.readHeaderTimeout = time.Second })},
		{name: "zero read header timeout", args: []string{"-read-header-timeout", "0s"}, err: errUsage},
		{name: "h2c", args: []string{"-h2c"}, want: with(func(c *config) { c.h2c = true })},
		{name: "zero stall timeout", args: []string{"-stall-timeout", "0s"}, err: errUsage},
		{name: "negative max streams", args: []string{"-max-streams", "-1"}, err: errUsage},
		{name: "NATS URL", args: []string{"-nats", "nats://10.0.0.1:4222,nats://10.0.0.2:4222"},
			want: with(func(c *config) { c.nats = "nats://10.0.0.1:4222,nats://10.0.0.2:4222" })},
		{name: "embedded NATS, not publishing", args: []string{"-nats", "embedded", "-publish=false"},
			want: with(func(c *config) { c.nats, c.publish = "embedded", false })},
		{name: "not a NATS URL", args: []string{"-nats", "localhost:4222"}, err: errUsage},
		{name: "run bounds", args: []string{"-max-runs", "3", "-run-retention", "30s"},
			want: with(func(c *config) { c.maxRuns, c.runRetention = 3, 30*time.Second })},
		{name: "no runs", args: []string{"-max-runs", "0"}, err: errUsage},
		{name: "zero run retention", args: []string{"-run-retention", "0s"}, err: errUsage},
		{name: "help", args: []string{"-h"}, err: flag.ErrHelp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, &out)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err == nil && got != tt.want {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
			if tt.err != nil && !strings.Contains(out.String(), "Usage:") {
				t.Errorf("no usage printed:\n%s", out.String())
			}
		})
	}
}

// TestDemoHelp checks that -h lists every flag, one documented line each,
// and that run returns at once without touching the data directory.
func TestDemoHelp(t *testing.T) {
	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "data")
	if err := run(t.Context(), []string{"-h", "-data", dir}, func(string) string { return "" }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h = %v, want flag.ErrHelp", err)
	}
	flags := regexp.MustCompile(`(?m)^  -(\S+)`).FindAllStringSubmatch(out.String(), -1)
	var names []string
	for _, f := range flags {
		names = append(names, f[1])
	}
	want := []string{"addr", "data", "db", "event-interval", "h2c", "log-interval", "log-max-bytes", "max-runs", "max-stream-duration", "max-streams", "max-streams-per-client", "nats", "publish", "read-header-timeout", "run-retention", "shutdown-timeout", "stall-timeout", "users"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("-h lists %v, want %v:\n%s", names, want, out.String())
	}
	for _, env := range []string{"PORT", "DATA_DIR", "DATABASE_URL"} {
		if !strings.Contains(out.String(), env) {
			t.Errorf("-h does not mention %s", env)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("-h created the data directory (%v)", err)
	}
}

// TestPageIDs checks that every element the page's script looks up exists
// in the page.
func TestPageIDs(t *testing.T) {
	html, err := pageFS.ReadFile("page/index.html")
	if err != nil {
		t.Fatal(err)
	}
	js, err := pageFS.ReadFile("page/app.js")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`\$\("([\w-]+)"\)`).FindAllSubmatch(js, -1)
	if len(ids) < 10 {
		t.Fatalf("found only %d element lookups in app.js", len(ids))
	}
	for _, m := range ids {
		if !bytes.Contains(html, []byte(`id="`+string(m[1])+`"`)) {
			t.Errorf("app.js looks up #%s, which index.html lacks", m[1])
		}
	}
}

// TestDemoURLs checks the URL printed for a listening address and the one
// the proxy uses to reach the server itself.
func TestDemoURLs(t *testing.T) {
	tests := []struct {
		addr, display, upstream string
	}{
		{"0.0.0.0:8080", "http://localhost:8080", "http://127.0.0.1:8080"},
		{"[::]:8080", "http://localhost:8080", "http://127.0.0.1:8080"},
		{"127.0.0.1:41234", "http://127.0.0.1:41234", "http://127.0.0.1:41234"},
		{"[::1]:9000", "http://[::1]:9000", "http://[::1]:9000"},
		{"192.0.2.7:80", "http://192.0.2.7:80", "http://192.0.2.7:80"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			addr, err := net.ResolveTCPAddr("tcp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			if got := displayURL(addr); got != tt.display {
				t.Errorf("displayURL = %q, want %q", got, tt.display)
			}
			if got := upstreamURL(addr); got != tt.upstream {
				t.Errorf("upstreamURL = %q, want %q", got, tt.upstream)
			}
		})
	}
}
