//go:build ignore

package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", as the demo uses
	_ "modernc.org/sqlite"             // database/sql driver "sqlite", as the demo uses
)

// usersQuery is the demo's export query (cmd/demo/seed.go).
const usersQuery = "SELECT id, name, email FROM users ORDER BY id"

// openDB opens PostgreSQL at dbURL, or else the SQLite database file
// read-only (the demo created and seeded it), and checks that it answers,
// as the demo does at its start: the export finds a connection open.
func openDB(ctx context.Context, dbURL, file string) (*sql.DB, error) {
	driver, dsn := "pgx", dbURL
	if dbURL == "" {
		driver = "sqlite"
		// A URI filename (the path escaped), read-only; a locked database
		// waits as the demo's does.
		dsn = (&url.URL{Scheme: "file", OmitHost: true, Path: file, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}).String()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return db, nil
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
	bw, _ := s.buffered(w)
	cw := csv.NewWriter(bw) // writes into bw itself: it is large enough
	if cw.Write(guarded(names)) != nil {
		abort()
	}
	var (
		id          int64
		name, email string
		record      = make([]string, 3)
	)
	for rows.Next() {
		if err := rows.Scan(&id, &name, &email); err != nil {
			abort()
		}
		record[0], record[1], record[2] = strconv.FormatInt(id, 10), name, email
		if cw.Write(guarded(record)) != nil {
			abort()
		}
	}
	if rows.Err() != nil {
		abort()
	}
	cw.Flush()
	if cw.Error() != nil {
		abort()
	}
}

// guarded returns record with a single quote before every cell that a
// spreadsheet would run as a formula, as the demo's CSV (sink.CSV) has by
// default: one starting with '=', '@', a tab or a carriage return, or with
// '+' or '-' unless a plain number follows ("-42", "+1.5"). It changes
// record in place.
func guarded(record []string) []string {
	for i, cell := range record {
		if cell == "" {
			continue
		}
		switch cell[0] {
		case '=', '@', '\t', '\r':
			record[i] = "'" + cell
		case '+', '-':
			if !plainNumber(cell[1:]) {
				record[i] = "'" + cell
			}
		}
	}
	return record
}

// plainNumber reports whether s is digits, with at most one decimal point
// between two of them.
func plainNumber(s string) bool {
	whole, fraction, point := strings.Cut(s, ".")
	return digits(whole) && (!point || digits(fraction))
}

// digits reports whether s is one or more decimal digits.
func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
