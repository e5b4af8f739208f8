//go:build ignore

// Command reference is the plain net/http reference server of the load
// programs: the handlers a Go programmer writes without a library, against
// which the ginstream demo is measured — by the side-by-side benchmark
// (loadtest/sidebyside) and by streamload's streams scenario with
// -reference. It is not built as part of the load-test module (hence the
// ignore tag): package reference, beside it, embeds its files and builds
// them in the library's module, as the demo is built, so that both servers
// are compiled by the same Go against the same pgx, SQLite and
// database/sql.
//
//	reference -addr 127.0.0.1:0 [-reports DIR] [-db postgres://… | -sqlite FILE]
//	          [-log FILE -log-interval D] [-stall-timeout D] [-h2c]
//
// It prints "reference: listening on HOST:PORT" once it accepts
// connections, and shuts down on SIGTERM or SIGINT. Its routes answer
// what the demo's routes of the same paths answer, byte for byte:
//
//   - GET /stream/numbers?count=N&interval=MS (as the demo's, 100 and 20
//     by default): the lines 1 to N, written through one 64 KiB
//     bufio.Writer that is flushed only before the handler waits
//     (interval > 0) and at the end;
//   - GET /export/users.csv: SELECT id, name, email FROM users ORDER BY id
//     through database/sql and pgx's (-db) or SQLite's (-sqlite, opened
//     read-only) rows.Next, written with encoding/csv on a 64 KiB
//     bufio.Writer, header row first, cells that a spreadsheet would run
//     as formulas guarded by a leading quote as the demo's are;
//   - GET /proxy/numbers: this server's own /stream/numbers, through
//     net/http/httputil.ReverseProxy;
//   - GET /stream/logs?lines=N (10 by default): the last N lines of the
//     -log file, then each line appended to it, as text, until the client
//     leaves; the server appends a line every -log-interval itself;
//   - GET /reports/{name}: the file in DIR, by io.Copy from its *os.File
//     with a Content-Length, which net/http sends with sendfile on Linux;
//   - GET /metrics: its goroutines, Go heap and streams in the Prometheus
//     text format (see metrics.go).
//
// With -stall-timeout, every write of a response must complete within it
// (http.ResponseController's SetWriteDeadline before each write): a client
// that stops reading fails the write that blocks, and the response is
// aborted, so the client sees a cut transfer. With -h2c it serves HTTP/2
// without TLS too, to clients that start with its preface, as the demo's
// -h2c does.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// bufferSize is the size of the one bufio.Writer of a streamed response.
const bufferSize = 64 << 10

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reference:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down.
func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("reference", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen `address`")
	reports := fs.String("reports", "", "`directory` served at /reports/{name}")
	dbURL := fs.String("db", "", "PostgreSQL `URL` of the users table served at /export/users.csv")
	sqliteFile := fs.String("sqlite", "", "SQLite database `file` of the users table served at /export/users.csv, opened read-only")
	logFile := fs.String("log", "", "`file` followed at /stream/logs, to which the server appends a line every -log-interval")
	logInterval := fs.Duration("log-interval", 500*time.Millisecond, "how often the -log file gets a new line")
	stall := fs.Duration("stall-timeout", 0, "end a response whose client has accepted nothing for this long (0: never)")
	h2c := fs.Bool("h2c", false, "also serve HTTP/2 without TLS (prior knowledge)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s := &server{stall: *stall}
	if *reports != "" {
		root, err := os.OpenRoot(*reports)
		if err != nil {
			return err
		}
		defer root.Close()
		s.reports = root
	}
	if *dbURL != "" || *sqliteFile != "" {
		db, err := openDB(ctx, *dbURL, *sqliteFile)
		if err != nil {
			return err
		}
		defer db.Close()
		s.db = db
	}
	var background sync.WaitGroup
	defer background.Wait()
	if *logFile != "" {
		if *logInterval <= 0 {
			return errors.New("-log-interval must be positive")
		}
		logs, err := openLog(*logFile)
		if err != nil {
			return err
		}
		s.logPath = *logFile
		background.Go(func() { logs.run(ctx, *logInterval) })
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /stream/numbers", s.track(s.numbers))
	mux.Handle("GET /export/users.csv", s.track(s.export))
	mux.Handle("GET /proxy/numbers", s.track(s.proxy("http://"+ln.Addr().String()+"/stream/numbers")))
	mux.Handle("GET /stream/logs", s.track(s.logs))
	mux.HandleFunc("GET /reports/{name}", s.report)
	mux.HandleFunc("GET /metrics", s.metrics)
	srv := &http.Server{Handler: s.deadline(mux), ReadHeaderTimeout: 10 * time.Second}
	if *h2c {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("reference: listening on %s\n", ln.Addr())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// server holds what the handlers serve.
type server struct {
	reports *os.Root      // nil: /reports is 404
	db      *sql.DB       // nil: /export is 404
	logPath string        // "": /stream/logs is 404
	stall   time.Duration // every write's deadline; 0: none
	active  atomic.Int64  // streams running
}

// track counts h's requests among the active streams while they run.
func (s *server) track(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.active.Add(1)
		defer s.active.Add(-1)
		h(w, r)
	})
}
