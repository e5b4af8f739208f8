package handlers_test

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/internal/pgtest"
	"github.com/ginstream/ginstream/sink"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// exportTypesQuery selects on PostgreSQL a value of every type an export
// writes in a way of its own, and of some that it writes as the driver's
// text, in three rows: ordinary values, edge cases, NULLs.
const exportTypesQuery = `SELECT * FROM (VALUES
	(1, 42::int2, 42::int4, 42::int8, 1.1::real, 0.1::float8, 12.50::numeric, true, 'text'::text, 'x'::char(3),
		'\x00ff10'::bytea, '2024-01-02 03:04:05.123456+02'::timestamptz, '2024-01-02 03:04:05.5'::timestamp,
		'2024-02-29'::date, '12:34:56'::time, '1 day 2 hours'::interval, '{"a": [1, "x"]}'::jsonb, '[true, null]'::json,
		'6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid, ARRAY[1, 2]::int[], '{"a":1}'::text),
	(2, (-32768)::int2, (-2147483648)::int4, (-9223372036854775808)::int8, 'NaN'::real, 'Infinity'::float8,
		'-1e-20'::numeric, false, '=1+2, "q"' || chr(10) || 'line', ' '::char(3),
		'hi'::bytea, '1970-01-01 00:00:00+00'::timestamptz, '0001-01-01 00:00:00'::timestamp,
		'1970-01-01'::date, '00:00:00'::time, '-1 mon'::interval, '"s"'::jsonb, '{}'::json,
		'00000000-0000-0000-0000-000000000000'::uuid, ARRAY[]::int[], '-5'::text),
	(3, NULL, NULL, NULL, '-Infinity'::real, 1e21::float8, 'NaN'::numeric, NULL, '', NULL,
		''::bytea, NULL, NULL, NULL, NULL, NULL, 'null'::jsonb, NULL, NULL, NULL, NULL)
) AS t(n, i2, i4, i8, r4, f8, num, b, txt, ch, bin, tstz, ts, d, tm, iv, jb, j, u, arr, jtext)
ORDER BY n`

// TestExportGolden pins down the bytes of the CSV (with and without the
// formula guard) and NDJSON exports of tables of typed values: the awkward
// users of TestExportMatchesTable on PostgreSQL and on SQLite, and a value
// of each type on PostgreSQL. The golden files in testdata were written by
// the export as it was before the scan and the encoding were made faster,
// so that any change in the bytes shows here; rewrite them with
// go test -update only for a change of format that is meant.
func TestExportGolden(t *testing.T) {
	type source struct {
		name  string
		db    func(t *testing.T) exportDB
		query string
	}
	usersQuery := "SELECT " + exportUserColumns + " FROM users ORDER BY id"
	sources := []source{
		{"users_postgres", func(t *testing.T) exportDB {
			d := exportDB{pgtest.DB(t), true}
			insertUsers(t, d, exportAwkwardUsers(), true)
			return d
		}, usersQuery},
		{"users_sqlite", func(t *testing.T) exportDB {
			d := exportDB{exportSQLite(t), false}
			insertUsers(t, d, exportAwkwardUsers(), false)
			return d
		}, usersQuery},
		{"types_postgres", func(t *testing.T) exportDB { return exportDB{pgtest.DB(t), true} }, exportTypesQuery},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			d := src.db(t)
			guarded := handlers.Export{DB: d.db, Query: src.query}
			unguarded := guarded
			unguarded.AllowFormulas = true
			client, base := serveOver(t, httpVersions[0], exportEngine(map[string]gin.HandlerFunc{
				"/guarded": guarded.Handler(), "/unguarded": unguarded.Handler(),
			}))
			for _, f := range []struct{ file, path string }{
				{src.name + ".csv", "/guarded"},
				{src.name + "_formulas.csv", "/unguarded"},
				{src.name + ".ndjson", "/guarded?format=ndjson"},
			} {
				t.Run(f.file, func(t *testing.T) {
					resp, got := exportBody(t, client, base+f.path)
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("status %d: %s", resp.StatusCode, got)
					}
					path := filepath.Join("testdata", "export", f.file)
					if *update {
						if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(path, got, 0o644); err != nil {
							t.Fatal(err)
						}
					}
					want, err := os.ReadFile(path)
					if err != nil {
						t.Fatalf("%v (go test -update writes it)", err)
					}
					if !bytes.Equal(got, want) {
						gotLines, wantLines := strings.SplitAfter(string(got), "\n"), strings.SplitAfter(string(want), "\n")
						for i := range min(len(gotLines), len(wantLines)) {
							if gotLines[i] != wantLines[i] {
								t.Fatalf("differs from %s at line %d:\n got %q\nwant %q", path, i+1, gotLines[i], wantLines[i])
							}
						}
						t.Fatalf("differs from %s: %d lines, want %d", path, len(gotLines), len(wantLines))
					}
				})
			}
		})
	}
}

// TestExportRecordEncodedInYield checks the guarantee that lets Export
// yield every CSV record in the same slice, refilled: a lone producer of
// sink.Writer's Stream has each item encoded before yield returns. A
// producer that refills one record for 20,000 rows, over HTTP/1.1 and
// HTTP/2 with small socket buffers (so that writes block mid-stream), must
// give every row as it was when yielded.
func TestExportRecordEncodedInYield(t *testing.T) {
	const rows = 20_000
	w := &sink.Writer[[]string]{Encoder: sink.CSV{}}
	handler := func(c *gin.Context) {
		w.Stream(c, func(ctx context.Context, yield func([]string) error) error {
			record := make([]string, 2)
			for i := range rows {
				record[0], record[1] = strconv.Itoa(i), strings.Repeat("x", i%97)
				if err := yield(record); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, v := range httpVersions {
		t.Run(v.name, func(t *testing.T) {
			client, base := loopback.Serve(t, v.http2, exportEngine(map[string]gin.HandlerFunc{"/": handler}), 16<<10)
			_, body := exportBody(t, client, base+"/")
			lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
			if len(lines) != rows {
				t.Fatalf("%d rows, want %d", len(lines), rows)
			}
			for i, line := range lines {
				if want := strconv.Itoa(i) + "," + strings.Repeat("x", i%97); line != want {
					t.Fatalf("row %d is %q, want %q", i, line, want)
				}
			}
		})
	}
}
