package generator_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/internal/pgtest"
)

// The tests of Rows run against a real PostgreSQL (see internal/pgtest):
// one server for all of them, a fresh database for each. Without PostgreSQL
// they are skipped, except in CI, where they fail.

// pgTimeout bounds every stream of these tests, so that a broken Rows fails
// them instead of hanging.
const pgTimeout = time.Minute

// endlessQuery streams rows until cancelled (a set-returning function in the
// select list is evaluated lazily), each with the backend's process ID.
const endlessQuery = `SELECT pg_backend_pid() AS pid, generate_series(1, 1000000000) AS n`

// pgRow is a row of endlessQuery.
type pgRow struct {
	PID int
	N   int64
}

func scanPGRow(rows *sql.Rows) (pgRow, error) {
	var r pgRow
	err := rows.Scan(&r.PID, &r.N)
	return r, err
}

func TestRowsPostgres(t *testing.T) {
	srv := pgtest.Shared(t)
	t.Run("streams every row in order with awkward values intact", func(t *testing.T) {
		testRowsAwkwardValues(t, srv.DB(t))
	})
	t.Run("scans one row at a time", func(t *testing.T) {
		testRowsOneAtATime(t, srv.DB(t))
	})
	t.Run("Close cancels the query", func(t *testing.T) {
		testRowsCloseCancelsQuery(t, srv)
	})
	t.Run("a query error comes before any item", func(t *testing.T) {
		testRowsQueryError(t, srv.DB(t))
	})
	t.Run("a scan error names the row", func(t *testing.T) {
		testRowsScanError(t, srv.DB(t))
	})
	t.Run("a killed connection is an error, not the end", func(t *testing.T) {
		testRowsKilledConnection(t, srv)
	})
}

// pgExec runs statements, failing the test on the first error.
func pgExec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, stmt := range stmts {
		if _, err := db.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// pgStart starts a stream bounded by pgTimeout and closes it when t ends.
func pgStart[T any](t *testing.T, capacity int, p generator.Func[T]) *generator.Group[T] {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), pgTimeout)
	t.Cleanup(cancel)
	s := generator.Start(ctx, generator.Options{Capacity: capacity}, p)
	t.Cleanup(func() { s.Close() })
	return s
}

// pgReceive receives items until the stream ends and returns them with the
// error that ended it (io.EOF at a clean end).
func pgReceive[T any](s *generator.Group[T], got []T) ([]T, error) {
	var batch []T
	for {
		var err error
		batch, err = s.Next(batch)
		got = append(got, batch...)
		if err != nil {
			return got, err
		}
	}
}

func testRowsAwkwardValues(t *testing.T, db *sql.DB) {
	type item struct {
		ID   int
		Name string
		Text string
		Note sql.NullString
	}
	note := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	want := []item{
		{Name: "plain", Text: "plain", Note: note("x")},
		{Name: "commas", Text: "a,b,,c,", Note: note(",")},
		{Name: "double quotes", Text: `say "hi" ""`, Note: note(`"`)},
		{Name: "single quotes", Text: `it's ''quoted''`, Note: note(`'`)},
		{Name: "newlines", Text: "line 1\nline 2\n", Note: note("\n")},
		{Name: "CR LF", Text: "a\r\nb\r", Note: note("\r\n")},
		{Name: "tab, backslash, NUL-free controls", Text: "a\tb\\c\x01\x1f", Note: note(`\N`)},
		{Name: "NULL is not empty", Text: "null note", Note: sql.NullString{}},
		{Name: "empty is not NULL", Text: "", Note: note("")},
		{Name: "the word NULL", Text: "NULL", Note: note("NULL")},
		{Name: "non-ASCII", Text: "héllo, 世界 🚀 \u00a0\u2028", Note: note("Ω")},
		{Name: "spreadsheet formula", Text: "=SUM(A1:A2)", Note: note("+1")},
		{Name: "leading and trailing spaces", Text: "  padded  ", Note: note(" ")},
		{Name: "long", Text: strings.Repeat("long,\"value\"\n", 1000), Note: note("end")},
	}
	pgExec(t, db, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, body text NOT NULL, note text)`)
	// Insert in reverse so that the cursor's order comes from ORDER BY, not
	// from the order of insertion.
	for i := len(want) - 1; i >= 0; i-- {
		want[i].ID = i + 1
		it := want[i]
		_, err := db.ExecContext(t.Context(), `INSERT INTO items VALUES ($1, $2, $3, $4)`, it.ID, it.Name, it.Text, it.Note)
		if err != nil {
			t.Fatalf("insert %s: %v", it.Name, err)
		}
	}

	var scans atomic.Int64
	rows := generator.Rows(
		func(ctx context.Context) (*sql.Rows, error) {
			return db.QueryContext(ctx, `SELECT id, name, body, note FROM items ORDER BY id`)
		},
		func(rows *sql.Rows) (item, error) {
			scans.Add(1)
			var it item
			err := rows.Scan(&it.ID, &it.Name, &it.Text, &it.Note)
			return it, err
		},
	)
	// A capacity of 2 makes the producer wait for the consumer many times.
	s := pgStart(t, 2, rows)
	got, err := pgReceive(s, nil)
	if err != io.EOF {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("row %d (%s) missing", i+1, want[i].Name)
		case i >= len(want):
			t.Errorf("unexpected row %d: %+v", i+1, got[i])
		case got[i] != want[i]:
			t.Errorf("row %d (%s):\n got %#v\nwant %#v", i+1, want[i].Name, got[i], want[i])
		}
	}
	if n := scans.Load(); n != int64(len(want)) {
		t.Errorf("scan called %d times for %d rows", n, len(want))
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func testRowsOneAtATime(t *testing.T, db *sql.DB) {
	const (
		tableRows = 100_000
		capacity  = 4
	)
	pgExec(t, db,
		`CREATE TABLE big (id int PRIMARY KEY, payload text NOT NULL)`,
		fmt.Sprintf(`INSERT INTO big SELECT g, 'row ' || g FROM generate_series(1, %d) g`, tableRows),
	)

	var scans atomic.Int64
	scanned := make(chan struct{}, 1) // a signal after each scan
	rows := generator.Rows(
		func(ctx context.Context) (*sql.Rows, error) {
			return db.QueryContext(ctx, `SELECT id FROM big ORDER BY id`)
		},
		func(rows *sql.Rows) (int, error) {
			scans.Add(1)
			select {
			case scanned <- struct{}{}:
			default:
			}
			var id int
			err := rows.Scan(&id)
			return id, err
		},
	)
	s := pgStart(t, capacity, rows)
	first, err := s.Next(nil)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	for i, id := range first {
		if id != i+1 {
			t.Fatalf("first batch %v, want ids from 1", first)
		}
	}

	// The consumer stops receiving. Reading one row at a time, the producer
	// refills the buffer (capacity rows), scans one more row and blocks
	// handing it over.
	limit := int64(len(first) + capacity + 1)
	deadline := time.After(pgTimeout)
	for scans.Load() < limit {
		select {
		case <-scanned:
		case <-deadline:
			t.Fatalf("the producer scanned only %d rows, want it to fill the buffer (%d)", scans.Load(), limit)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := scans.Load(); n > limit {
		t.Errorf("the producer scanned %d of %d rows for a consumer that took %d with capacity %d; want at most %d",
			n, tableRows, len(first), capacity, limit)
	}
}

// pgActivity returns the state of a backend in pg_stat_activity, or "" if
// the backend is gone.
func pgActivity(t *testing.T, monitor *sql.DB, pid int) string {
	t.Helper()
	var state sql.NullString
	err := monitor.QueryRowContext(t.Context(), `SELECT state FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return ""
	}
	if err != nil {
		t.Fatalf("pg_stat_activity: %v", err)
	}
	return state.String
}

// pgSelectOne checks that db still answers a query, within a bound.
func pgSelectOne(t *testing.T, db *sql.DB) (backend int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		t.Fatalf("the pool is unusable: %v", err)
	}
	return backend
}

// pgPools returns a fresh database's pool for the stream, limited to one
// connection so that a connection the stream failed to release would block
// the next query, and a second pool for watching from another connection.
func pgPools(t *testing.T, srv *pgtest.Server) (db, monitor *sql.DB) {
	dsn := srv.NewDatabase(t)
	db = pgtest.Open(t, dsn)
	db.SetMaxOpenConns(1)
	return db, pgtest.Open(t, dsn)
}

func testRowsCloseCancelsQuery(t *testing.T, srv *pgtest.Server) {
	db, monitor := pgPools(t, srv)
	var queryCtx context.Context
	var rows *sql.Rows
	s := pgStart(t, 4, generator.Rows(
		func(ctx context.Context) (*sql.Rows, error) {
			queryCtx = ctx
			var err error
			rows, err = db.QueryContext(ctx, endlessQuery)
			return rows, err
		},
		scanPGRow,
	))
	first, err := s.Next(nil)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	pid := first[0].PID
	if state := pgActivity(t, monitor, pid); state != "active" {
		t.Fatalf("before Close, the backend is %q, want active", state)
	}

	// Close must cancel the query: otherwise closing the rows reads the
	// billion remaining ones.
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(pgTimeout):
		t.Fatal("Close did not return: the query was not cancelled")
	}

	// Close has joined the producer: the query's context is cancelled and
	// the rows are closed, which released the pool's only connection.
	if !errors.Is(context.Cause(queryCtx), generator.ErrClosed) {
		t.Errorf("the query's context: cause %v, want ErrClosed", context.Cause(queryCtx))
	}
	if rows.Next() {
		t.Error("the rows are still open after Close")
	}
	if inUse := db.Stats().InUse; inUse != 0 {
		t.Errorf("%d connections still in use after Close", inUse)
	}
	// The server learns of the cancellation asynchronously.
	deadline := time.Now().Add(pgTimeout)
	for state := pgActivity(t, monitor, pid); state == "active"; state = pgActivity(t, monitor, pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the backend still runs the query %v after Close", pgTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	pgSelectOne(t, db)
}

func testRowsQueryError(t *testing.T, db *sql.DB) {
	pgExec(t, db, `CREATE TABLE items (id int)`)
	tests := []struct {
		name     string
		query    string
		wantCode string // SQLSTATE
	}{
		{"syntax error", `SELEC id FROM items`, "42601"},
		{"missing table", `SELECT id FROM no_such_table`, "42P01"},
		{"missing column", `SELECT no_such_column FROM items`, "42703"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var scans atomic.Int64
			s := pgStart(t, 4, generator.Rows(
				func(ctx context.Context) (*sql.Rows, error) { return db.QueryContext(ctx, tt.query) },
				func(rows *sql.Rows) (int, error) {
					scans.Add(1)
					var id int
					return id, rows.Scan(&id)
				},
			))
			items, err := s.Next(nil)
			if len(items) != 0 || err == nil || err == io.EOF {
				t.Fatalf("first Next = %v, %v; want no items and the query's error", items, err)
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != tt.wantCode {
				t.Errorf("error %v: want a *pgconn.PgError with code %s in its chain", err, tt.wantCode)
			}
			if !strings.HasPrefix(err.Error(), "generator: ") {
				t.Errorf("error %q: want it wrapped with the generator's context", err)
			}
			if closeErr := s.Close(); closeErr != err {
				t.Errorf("Close = %v, want the query's error", closeErr)
			}
			if n := scans.Load(); n != 0 {
				t.Errorf("scan called %d times", n)
			}
		})
	}
}

func testRowsScanError(t *testing.T, db *sql.DB) {
	pgExec(t, db,
		`CREATE TABLE people (id int PRIMARY KEY, name text)`,
		`INSERT INTO people SELECT g, CASE WHEN g = 7 THEN NULL ELSE 'person ' || g END FROM generate_series(1, 10) g`,
	)
	s := pgStart(t, 4, generator.Rows(
		func(ctx context.Context) (*sql.Rows, error) {
			return db.QueryContext(ctx, `SELECT id, name FROM people ORDER BY id`)
		},
		func(rows *sql.Rows) (int, error) {
			var id int
			var name string // row 7's NULL does not fit
			err := rows.Scan(&id, &name)
			return id, err
		},
	))
	got, err := pgReceive(s, nil)
	if fmt.Sprint(got) != "[1 2 3 4 5 6]" {
		t.Errorf("items %v, want rows 1 to 6 before the error", got)
	}
	if err == nil || err == io.EOF {
		t.Fatalf("stream ended with %v, want the scan error", err)
	}
	if !regexp.MustCompile(`\brow 7\b`).MatchString(err.Error()) || !strings.Contains(err.Error(), "NULL") {
		t.Errorf("error %q: want it to name row 7 and say what failed", err)
	}
}

func testRowsKilledConnection(t *testing.T, srv *pgtest.Server) {
	db, monitor := pgPools(t, srv)
	s := pgStart(t, 16, generator.Rows(
		func(ctx context.Context) (*sql.Rows, error) { return db.QueryContext(ctx, endlessQuery) },
		scanPGRow,
	))
	got, err := s.Next(nil)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	got = append([]pgRow(nil), got...)
	pid := got[0].PID

	var terminated bool
	if err := monitor.QueryRowContext(t.Context(), `SELECT pg_terminate_backend($1)`, pid).Scan(&terminated); err != nil || !terminated {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, terminated, err)
	}

	// The rows already on their way arrive, then the failure: never a clean
	// end that looks complete.
	got, err = pgReceive(s, got)
	if err == nil || err == io.EOF {
		t.Fatalf("after the connection was killed, the stream ended with %v, want an error", err)
	}
	t.Logf("%d rows, then: %v", len(got), err)
	for i, r := range got {
		if r.N != int64(i+1) || r.PID != pid {
			t.Fatalf("row %d is %+v, want n=%d from backend %d: rows lost or reordered", i+1, r, i+1, pid)
		}
	}
	if closeErr := s.Close(); closeErr != err {
		t.Errorf("Close = %v, want the stream's error %v", closeErr, err)
	}

	// The pool drops the dead connection and opens another.
	if backend := pgSelectOne(t, db); backend == pid {
		t.Errorf("the next query ran on the killed backend %d", pid)
	}
}
