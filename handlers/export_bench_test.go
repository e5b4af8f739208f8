package handlers_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/internal/pgtest"
)

// BenchmarkExport exports 200,000 rows from PostgreSQL as CSV over loopback
// HTTP/1.1 with rows read ahead of the client up to Capacity, for several
// capacities in the same run: it weighs the memory an export holds (about
// Capacity rows) against its speed.
//
//	go test -run '^$' -bench BenchmarkExport -count 5 ./handlers
func BenchmarkExport(b *testing.B) {
	const rows = 200_000
	db := pgtest.DB(b)
	gin.SetMode(gin.ReleaseMode)
	for _, capacity := range []int{64, handlers.DefaultExportCapacity, 1024} {
		b.Run(fmt.Sprintf("capacity=%d", capacity), func(b *testing.B) {
			export := handlers.Export{
				DB: db,
				Query: `SELECT n AS id, 'user ' || n AS name, 'user' || n || '@example.com' AS email
					FROM generate_series(1, $1::int) AS n`,
				Args:     []any{rows},
				Capacity: capacity,
			}
			engine := gin.New()
			engine.GET("/users.csv", export.Handler())
			client, base := loopback.Serve(b, false, engine, 0)
			var size int64
			for b.Loop() {
				resp, err := client.Get(base + "/users.csv")
				if err != nil {
					b.Fatal(err)
				}
				size, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d, %v", resp.StatusCode, err)
				}
			}
			b.SetBytes(size)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}

// BenchmarkExportCPU measures the server's own work per row of a CSV export
// of 200,000 users (id BIGINT, name and email TEXT, with commas, quotes and
// non-ASCII letters like the demo's) from PostgreSQL, beside the reference
// of loadtest/sidebyside: encoding/csv on a 64 KiB bufio.Writer over
// database/sql. Both write into a ResponseWriter that discards the bytes, so
// that no client shares the process: cpu-ns/row is the process's CPU time
// (user and system, PostgreSQL is another process) per row, and allocs/op
// divided by the rows is the allocations per row. The bodies of the two are
// checked to be equal first.
//
//	go test -run '^$' -bench ExportCPU -benchmem -count 6 ./handlers
func BenchmarkExportCPU(b *testing.B) {
	const rows = 200_000
	db := pgtest.DB(b)
	if _, err := db.ExecContext(b.Context(), `CREATE TABLE users AS SELECT n::bigint AS id,
		CASE n % 4 WHEN 0 THEN 'Zoë Lovelace' WHEN 1 THEN 'O''Brien, José'
			WHEN 2 THEN 'Ada "Ace" Müller' ELSE 'Smith, Grace "Doc"' END AS name,
		CASE n % 3 WHEN 0 THEN 'zoë.lovelace.' || n || '@example.com'
			WHEN 1 THEN '"o''brien, josé ' || n || '"@example.org'
			ELSE '"ada \"ace\" müller ' || n || '"@exämple.net' END AS email
		FROM generate_series(1, $1::int) AS n`, rows); err != nil {
		b.Fatal(err)
	}
	const query = "SELECT id, name, email FROM users ORDER BY id"
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.GET("/ginstream", handlers.Export{DB: db, Query: query}.Handler())
	engine.GET("/reference", func(c *gin.Context) { referenceExport(c.Writer, c.Request, db, query) })

	serve := func(path string, h hash.Hash) {
		w := &discardWriter{header: make(http.Header), hash: h}
		engine.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.status != 0 && w.status != http.StatusOK {
			b.Fatalf("%s: status %d", path, w.status)
		}
	}
	want, got := sha256.New(), sha256.New()
	serve("/reference", want)
	serve("/ginstream", got)
	if !bytes.Equal(want.Sum(nil), got.Sum(nil)) {
		b.Fatal("the bodies of ginstream and the reference differ")
	}
	for _, path := range []string{"/reference", "/ginstream"} {
		b.Run(path[1:], func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				serve(path, nil)
			}
			n := float64(b.N * rows)
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/n, "cpu-ns/row")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
		})
	}
}

// referenceExport is loadtest/sidebyside's reference export of a query of
// the columns id, name and email.
func referenceExport(w http.ResponseWriter, r *http.Request, db *sql.DB, query string) {
	rows, err := db.QueryContext(r.Context(), query)
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
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
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
			panic(http.ErrAbortHandler)
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
	_ = bw.Flush()
}

// discardWriter is an http.ResponseWriter that drops what is written to
// it, after adding it to hash if that is not nil.
type discardWriter struct {
	header http.Header
	status int
	hash   hash.Hash
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}
func (w *discardWriter) Flush() {}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.hash != nil {
		w.hash.Write(p)
	}
	return len(p), nil
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
