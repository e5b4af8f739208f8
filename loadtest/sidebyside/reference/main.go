//go:build ignore

// Command reference is the reference server of the side-by-side benchmark
// (loadtest/sidebyside): the plain net/http handlers that the ginstream
// demo is measured against. It is not built as part of the load-test
// module (hence the ignore tag): sidebyside embeds this file and builds it
// in the library's module, as it builds the demo, so that both servers are
// compiled by the same Go against the same pgx and database/sql.
//
//	reference -addr 127.0.0.1:0 -reports DIR [-db postgres://…]
//
// It prints "reference: listening on HOST:PORT" once it accepts
// connections, and shuts down on SIGTERM or SIGINT. Its routes answer
// what the demo's routes of the same paths answer, byte for byte:
//
//   - GET /stream/numbers?count=N&interval=MS: the lines 1 to N, written
//     through one 64 KiB bufio.Writer that is flushed only before the
//     handler waits (interval > 0) and at the end;
//   - GET /export/users.csv: SELECT id, name, email FROM users ORDER BY id
//     through database/sql and pgx's rows.Next, written with encoding/csv
//     on a 64 KiB bufio.Writer, header row first;
//   - GET /reports/{name}: the file in DIR, by io.Copy from its *os.File
//     with a Content-Length, which net/http sends with sendfile on Linux.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", as the demo uses
)

// bufferSize is the size of the one bufio.Writer of a streamed response.
const bufferSize = 64 << 10

// usersQuery is the demo's export query (cmd/demo/seed.go).
const usersQuery = "SELECT id, name, email FROM users ORDER BY id"

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
	if err := fs.Parse(args); err != nil {
		return err
	}
	s := &server{}
	if *reports != "" {
		root, err := os.OpenRoot(*reports)
		if err != nil {
			return err
		}
		defer root.Close()
		s.reports = root
	}
	if *dbURL != "" {
		db, err := sql.Open("pgx", *dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		// As the demo does at its start: the export finds a connection
		// open.
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("database: %w", err)
		}
		s.db = db
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream/numbers", s.numbers)
	mux.HandleFunc("GET /export/users.csv", s.export)
	mux.HandleFunc("GET /reports/{name}", s.report)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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
	reports *os.Root // nil: /reports is 404
	db      *sql.DB  // nil: /export is 404
}

// numbers writes the lines 1 to count, interval milliseconds apart.
func (s *server) numbers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	count, err := strconv.Atoi(q.Get("count"))
	if err != nil || count < 1 {
		http.Error(w, "count: a positive integer", http.StatusBadRequest)
		return
	}
	interval, err := strconv.Atoi(q.Get("interval"))
	if err != nil || interval < 0 {
		http.Error(w, "interval: milliseconds, not negative", http.StatusBadRequest)
		return
	}
	pace := time.Duration(interval) * time.Millisecond
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	bw := bufio.NewWriterSize(w, bufferSize)
	rc := http.NewResponseController(w)
	var tick <-chan time.Time
	if pace > 0 {
		t := time.NewTicker(pace)
		defer t.Stop()
		tick = t.C
	}
	for i := 1; i <= count; i++ {
		if i > 1 && pace > 0 {
			if bw.Flush() != nil || rc.Flush() != nil {
				return
			}
			select {
			case <-tick:
			case <-r.Context().Done():
				return
			}
		}
		line := strconv.AppendInt(bw.AvailableBuffer(), int64(i), 10)
		if _, err := bw.Write(append(line, '\n')); err != nil {
			return
		}
	}
	_ = bw.Flush()
}

// export writes the users table as CSV.
func (s *server) export(w http.ResponseWriter, r *http.Request) {
	if s.db == nil {
		http.NotFound(w, r)
		return
	}
	rows, err := s.db.QueryContext(r.Context(), usersQuery)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="users.csv"`)
	bw := bufio.NewWriterSize(w, bufferSize)
	cw := csv.NewWriter(bw) // writes into bw itself: it is large enough
	if cw.Write(names) != nil {
		return
	}
	var (
		id          int64
		name, email string
		record      = make([]string, 3)
	)
	for rows.Next() {
		if err := rows.Scan(&id, &name, &email); err != nil {
			panic(http.ErrAbortHandler) // the client sees a failed transfer
		}
		record[0], record[1], record[2] = strconv.FormatInt(id, 10), name, email
		if cw.Write(record) != nil {
			return
		}
	}
	if rows.Err() != nil {
		panic(http.ErrAbortHandler)
	}
	cw.Flush()
	_ = cw.Error()
}

// report sends a file of the reports directory.
func (s *server) report(w http.ResponseWriter, r *http.Request) {
	if s.reports == nil {
		http.NotFound(w, r)
		return
	}
	f, err := s.reports.Open(r.PathValue("name"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size(), 10))
	_, _ = io.Copy(w, f)
}
