package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite", pure Go
)

// Files in the data directory.
const (
	sqliteFile = "demo.db"        // the embedded database
	reportsDir = "reports"        // served at /reports/:name
	reportName = "sales-2025.csv" // the sample report
	logFile    = "demo.log"       // followed at /stream/logs
)

// usersQuery is the export behind /export/users.csv.
const usersQuery = "SELECT id, name, email FROM users ORDER BY id"

// database is an open database and the dialect it speaks.
type database struct {
	*sql.DB
	postgres bool   // PostgreSQL ($1 placeholders); otherwise SQLite (?)
	name     string // for logs: "SQLite <path>" or "PostgreSQL"
}

// openDatabase opens PostgreSQL if cfg names it, the SQLite database in the
// data directory otherwise, and checks that it answers.
func openDatabase(ctx context.Context, cfg config) (*database, error) {
	d := &database{postgres: cfg.databaseURL != ""}
	var err error
	if d.postgres {
		d.name = "PostgreSQL"
		d.DB, err = sql.Open("pgx", cfg.databaseURL)
	} else {
		path := filepath.Join(cfg.dataDir, sqliteFile)
		d.name = "SQLite " + path
		// WAL lets the export read while another connection writes;
		// busy_timeout makes a locked database wait instead of failing.
		d.DB, err = sql.Open("sqlite", "file:"+uriPath.Replace(path)+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.name, err)
	}
	if err := d.PingContext(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("open %s: %w", d.name, err)
	}
	return d, nil
}

// uriPath escapes the characters of a file name that a SQLite URI filename
// would take for its syntax.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// seedRowsPerInsert is the number of users one INSERT statement adds: a
// round trip per row would make seeding PostgreSQL slow.
const seedRowsPerInsert = 500

// seedUsers creates the users table and fills it with n users, unless it
// exists already: the table is created and filled in one transaction, so a
// table that exists is complete. It reports whether it seeded.
func (d *database) seedUsers(ctx context.Context, n int) (seeded bool, err error) {
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("seed users: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS users (
		id BIGINT PRIMARY KEY,
		name TEXT NOT NULL,
		email TEXT NOT NULL
	)`); err != nil {
		return false, fmt.Errorf("seed users: create table: %w", err)
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users)").Scan(&exists); err != nil {
		return false, fmt.Errorf("seed users: %w", err)
	}
	if exists {
		return false, tx.Rollback()
	}
	full, err := tx.PrepareContext(ctx, d.insertUsers(seedRowsPerInsert))
	if err != nil {
		return false, fmt.Errorf("seed users: %w", err)
	}
	defer full.Close()
	args := make([]any, 0, 3*seedRowsPerInsert)
	for first := 1; first <= n; first += seedRowsPerInsert {
		args = args[:0]
		last := min(first+seedRowsPerInsert-1, n)
		for id := first; id <= last; id++ {
			u := newUser(id)
			args = append(args, u.id, u.name, u.email)
		}
		stmt := full
		if rows := last - first + 1; rows < seedRowsPerInsert {
			if stmt, err = tx.PrepareContext(ctx, d.insertUsers(rows)); err != nil {
				return false, fmt.Errorf("seed users: %w", err)
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return false, fmt.Errorf("seed users %d to %d: %w", first, last, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("seed users: commit: %w", err)
	}
	return true, nil
}

// insertUsers returns an INSERT statement for rows users.
func (d *database) insertUsers(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO users (id, name, email) VALUES ")
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range 3 {
			if c > 0 {
				b.WriteByte(',')
			}
			if d.postgres {
				b.WriteString("$" + strconv.Itoa(3*r+c+1))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// user is a row of the users table.
type user struct {
	id          int64
	name, email string
}

// Parts of the generated users: non-ASCII letters from several scripts,
// apostrophes, spaces and particles — the names that break naive code.
var (
	firstNames = []string{
		"Ada", "Zoë", "José", "Björn", "Chloé", "Dmitri", "Émile", "Fatima",
		"Grace", "Håkon", "Ingrid", "Jürgen", "Kenji", "Łukasz", "Mía", "Nnamdi",
		"Øyvind", "Priya", "Renée", "Søren", "Tomás", "Văn", "Xóchitl", "Zdeněk",
		"Мария", "Ελένη", "美咲", "Sinéad",
	}
	lastNames = []string{
		"Lovelace", "O'Brien", "Müller", "García Márquez", "Núñez", "Østergaard",
		"Dvořák", "Nakamura", "Kowalski", "van der Berg", "d'Artagnan", "Smith",
		"Иванова", "Παπαδοπούλου", "山田", "Ó Súilleabháin", "Nguyễn", "Weiß",
		"Ferreira", "Øvrebø", "Åberg", "Lee",
	}
	nicknames = []string{"Ace", "Doc", "Bee", "Kid", "Max", "Ziggy"}
)

// newUser returns the user with the given id, the same every time: a name
// with a comma ("Last, First") in every fourth, double quotes in every
// fourth, and non-ASCII letters in most; an email with a comma or double
// quotes in its quoted local part in two of every three.
func newUser(id int) user {
	first := firstNames[(id/4)%len(firstNames)]
	last := lastNames[(id/7)%len(lastNames)]
	nick := nicknames[id%len(nicknames)]
	var name string
	switch id % 4 {
	case 0:
		name = first + " " + last
	case 1:
		name = last + ", " + first
	case 2:
		name = first + ` "` + nick + `" ` + last
	default:
		name = last + ", " + first + ` "` + nick + `"`
	}
	ids := strconv.Itoa(id)
	var email string
	switch id % 3 {
	case 0:
		email = strings.ToLower(strings.ReplaceAll(first+"."+last, " ", ".")) + "." + ids + "@example.com"
	case 1:
		email = `"` + strings.ToLower(last+", "+first) + " " + ids + `"@example.org`
	default:
		email = `"` + strings.ToLower(first+` \"`+nick+`\" `+last) + " " + ids + `"@exämple.net`
	}
	return user{id: int64(id), name: name, email: email}
}

// sampleReport is the report the demo writes into the reports directory:
// a small CSV with a quoted field, a comma in a value and non-ASCII text.
const sampleReport = `month,region,product,units,revenue_eur
2025-01,Nord,"Widget, large",1200,35988.00
2025-01,Süd,Gizmo,830,12450.00
2025-02,Nord,"Widget, large",1315,39436.85
2025-02,Süd,"Gizmo ""Pro""",410,16400.00
2025-03,Nord,Dingsbums,95,1425.00
2025-03,Süd,"Widget, large",1480,44385.20
`

// prepareDataDir creates the data directory and its reports directory, and
// writes the sample report unless a file of that name exists (so edits
// survive restarts).
func prepareDataDir(dir string) error {
	reports := filepath.Join(dir, reportsDir)
	if err := os.MkdirAll(reports, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(reports, reportName), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sample report: %w", err)
	}
	_, err = f.WriteString(sampleReport)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sample report: %w", err)
	}
	return nil
}
