package handlers

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"path"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// Export streams the result of a database query as a download: CSV by
// default, NDJSON when the client asks for it. The rows are read from the
// cursor one at a time ([generator.Rows]) and written as they come, so
// memory does not grow with the number of rows.
//
//	r.GET("/export/users.csv", handlers.Export{
//		DB:       db,
//		Query:    "SELECT id, name, email FROM users ORDER BY id",
//		Filename: "users.csv",
//		Config:   streams, // the app's sink.Config
//	}.Handler())
//
// # Formats
//
// The query parameter format chooses the format: "csv" or "ndjson", in any
// case; any other value, or a query string that net/url cannot parse, is
// answered with 400 and a JSON error. Without it, the Accept header
// decides: NDJSON if it ranks application/x-ndjson or application/json
// above text/csv (by the quality of the most specific matching range), CSV
// otherwise — also for a tie, such as */*.
//
// CSV (text/csv) has a header row of the column names, then one record per
// row. NDJSON (application/x-ndjson) has one JSON object per row, whose
// members are the columns in order. Values are written as follows:
//
//   - NULL: an empty cell; null in JSON. (In CSV, NULL and the empty string
//     look the same.)
//   - Integers and floating-point numbers: in the shortest form that reads
//     back as the same number, without exponent unless it is very large or
//     small, as JavaScript and encoding/json print them; single-precision
//     columns (PostgreSQL real) in single precision. NaN and infinities as
//     the strings NaN, Infinity and -Infinity.
//   - NUMERIC and DECIMAL values: the digits the driver returns; JSON
//     numbers in NDJSON, so no precision is lost.
//   - Booleans: true and false, also for SQLite's BOOLEAN columns, which
//     hold 0 and 1.
//   - Times: RFC 3339 in UTC, with as many fractional digits as the value
//     has (time.RFC3339Nano); times without a zone, which drivers return
//     as UTC, end in Z too. Values of DATE columns as dates (2006-01-02).
//   - Binary columns (a database type BYTEA, or one whose name contains
//     BLOB or BINARY): standard base64 with padding, always, so that a
//     file decodes without guessing. Other byte values — some drivers
//     return text or JSON as bytes — as text when they are valid UTF-8, and
//     in base64 otherwise.
//   - JSON and JSONB columns: the JSON itself in NDJSON, text in CSV.
//   - Text: as it is. In CSV, a cell that a spreadsheet would evaluate as a
//     formula gets a leading single quote (see [sink.CSV])
//     unless AllowFormulas is set.
//
// # Failures
//
// A query that fails before its first row — a syntax error, a missing
// table, an error computing the first row — is answered with an error
// status (500, or what [sink.StatusOf] makes of the error) and a message,
// without the attachment header: nothing, not even the CSV header row, is
// sent before the first row has been read. A failure after rows were sent —
// the connection to the database lost, say — aborts the response, so the
// client sees a failed transfer rather than a short file that looks
// complete (see package sink). The query runs on a connection that has just
// answered a ping: one that the database dropped while it was idle in the
// pool (a restart, an idle timeout, pg_terminate_backend) is replaced
// rather than failing the export, at the cost of one round trip.
//
// Handler checks the Export and returns its gin handler; it panics, as
// chi does for a route registered wrong, if DB is nil or Query empty.
type Export struct {
	// DB is the database the query runs on. It must not be nil.
	DB *sql.DB

	// Query is the SQL query, in the driver's syntax, and Args its
	// arguments. Query must not be empty.
	Query string
	Args  []any

	// Filename is the name the CSV download is saved under (see
	// [ContentDisposition]); an NDJSON download gets the same name with
	// ".ndjson" in place of a ".csv" extension, or added. Empty means
	// "export.csv".
	Filename string

	// AllowFormulas turns off the guard against spreadsheet formula
	// injection that CSV files have by default (see sink.CSV).
	AllowFormulas bool

	// Authorize, if not nil, decides whether the request may have the
	// export, before the query runs; it is given Filename (the CSV
	// name). See [Authorizer].
	Authorize Authorizer

	// Capacity bounds the rows read ahead of the client (see
	// [sink.Writer] Capacity): the memory an export holds is about
	// Capacity rows. Zero means DefaultExportCapacity.
	Capacity int

	// Config holds the settings every stream shares (see sink.Config).
	sink.Config
}

// DefaultExportCapacity is the number of rows an Export reads ahead of the
// client by default: enough for full 64 KiB batches of typical rows, and a
// quarter of sink's default, since a row holds several strings.
const DefaultExportCapacity = 256

// Export formats, as the format query parameter names them.
const (
	formatCSV    = "csv"
	formatNDJSON = "ndjson"
)

// Handler returns the gin handler that streams the query's rows in the
// format each request asks for. It panics if DB is nil or Query is empty.
func (e Export) Handler() gin.HandlerFunc {
	switch {
	case e.DB == nil:
		panic("handlers: Export.DB is nil")
	case strings.TrimSpace(e.Query) == "":
		panic("handlers: Export.Query is empty")
	}
	if e.Capacity <= 0 {
		e.Capacity = DefaultExportCapacity
	}
	csvName := cmp.Or(e.Filename, "export.csv")
	ndjsonName := strings.TrimSuffix(csvName, path.Ext(csvName))
	if !strings.EqualFold(path.Ext(csvName), ".csv") {
		ndjsonName = csvName
	}
	ndjsonName += ".ndjson"
	csvWriter := &sink.Writer[[]string]{Encoder: sink.CSV{AllowFormulas: e.AllowFormulas}, Capacity: e.Capacity, Config: e.Config}
	ndjsonWriter := &sink.Writer[json.RawMessage]{Encoder: sink.NDJSON[json.RawMessage]{}, Capacity: e.Capacity, Config: e.Config}
	return func(c *gin.Context) {
		format, perr := choiceParam(c, "format", []string{formatCSV, formatNDJSON}, true)
		switch {
		case perr != nil:
			badRequest(c, perr)
			return
		case format == "" && prefersNDJSON(c.GetHeader("Accept")):
			format = formatNDJSON
		}
		left, ok := e.Authorize.check(c, csvName, e.Config)
		if !ok {
			return
		}
		if format == formatNDJSON {
			Attachment(c, ndjsonName)
			w := *ndjsonWriter
			w.MaxDuration = cmp.Or(left, w.MaxDuration)
			w.Stream(c, e.objects)
			return
		}
		Attachment(c, csvName)
		w := *csvWriter
		w.MaxDuration = cmp.Or(left, w.MaxDuration)
		w.Stream(c, e.records)
	}
}

// records is the producer of a CSV export: the header row, then one record
// per row. The header waits for the first row (or the end of an empty
// result), so that a query failing before its first row sends no byte and
// is answered with an error status.
//
// Every row is yielded in the same slice, refilled (cursor.record), which
// generator.Func's contract forbids in general: a yielded item may be
// buffered after yield returns. It is safe here because records is the
// lone producer of a sink.Writer's Stream, whose yield encodes each item
// into the batch before it returns (see Writer.Stream), and it saves an
// allocation per row. TestExportRecordEncodedInYield checks that
// guarantee; a second producer, or another way of streaming, would need a
// new slice per row again.
func (e *Export) records(ctx context.Context, yield func([]string) error) error {
	cur := &cursor{export: e}
	defer cur.close()
	sentHeader := false
	err := generator.Rows(cur.query, cur.record)(ctx, func(record []string) error {
		if !sentHeader {
			sentHeader = true
			if err := yield(cur.names); err != nil {
				return err
			}
		}
		return yield(record)
	})
	if err == nil && !sentHeader {
		return yield(cur.names)
	}
	return err
}

// objects is the producer of an NDJSON export: one JSON object per row.
func (e *Export) objects(ctx context.Context, yield func(json.RawMessage) error) error {
	cur := &cursor{export: e}
	defer cur.close()
	return generator.Rows(cur.query, cur.object)(ctx, yield)
}
