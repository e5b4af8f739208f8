package handlers

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"path"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// Export streams the result of a database query as a download: CSV by
// default, NDJSON when the client asks for it. The rows are read from the
// cursor one at a time ([generator.Rows]) and written as they come, so
// memory does not grow with the number of rows.
//
//	users := &handlers.Export{
//		DB:       db,
//		Query:    "SELECT id, name, email FROM users ORDER BY id",
//		Filename: "users.csv",
//	}
//	r.GET("/export/users.csv", users.Serve)
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
//     formula gets a leading single quote (see [sink.CSV] GuardFormulas)
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
// An Export is safe for concurrent use once set up; build one per request
// when the query's arguments come from the request.
type Export struct {
	// DB is the database the query runs on. It must not be nil.
	DB *sql.DB

	// Query is the SQL query, in the driver's syntax, and Args its
	// arguments.
	Query string
	Args  []any

	// Filename is the name the CSV download is saved under (see
	// [ContentDisposition]); an NDJSON download gets the same name with
	// ".ndjson" in place of a ".csv" extension, or added. Empty means
	// "export.csv".
	Filename string

	// AllowFormulas turns off the guard against spreadsheet formula
	// injection that CSV files have by default.
	AllowFormulas bool

	// Capacity bounds the rows read ahead of the client (see
	// [sink.Writer] Capacity): the memory an export holds is about
	// Capacity rows. Zero means DefaultExportCapacity.
	Capacity int

	// Limit, if not nil, caps the exports (and other streams sharing it)
	// running at once; see [sink.Writer] Limit.
	Limit *sink.Limit

	// StallTimeout ends an export whose client has accepted nothing for
	// this long. Zero means sink.DefaultStallTimeout; negative turns it
	// off.
	StallTimeout time.Duration

	// OnReport, if not nil, is called with the report of every export (for
	// metrics, such as
	// [github.com/ginstream/ginstream/streammetrics.Collector.Observe]).
	OnReport func(*gin.Context, sink.Report)

	// Logger logs exports that do not complete. Nil means slog.Default().
	Logger *slog.Logger

	// Compress compresses the export with gzip or zstd when the client
	// accepts it, flushing with every batch; see [sink.Writer] Compress.
	Compress bool
}

// DefaultExportCapacity is the number of rows an Export reads ahead of the
// client by default: enough for full 32 KiB batches of typical rows, and a
// quarter of sink's default, since a row holds several strings.
const DefaultExportCapacity = 256

// capacity returns the rows read ahead of the client.
func (e *Export) capacity() int {
	if e.Capacity <= 0 {
		return DefaultExportCapacity
	}
	return e.Capacity
}

// Export formats, as the format query parameter names them.
const (
	formatCSV    = "csv"
	formatNDJSON = "ndjson"
)

// errNoColumns reports a query whose result has no columns, which neither
// format can write.
var errNoColumns = errors.New("handlers: the export query returns no columns")

// Serve streams the query's rows to c in the format the request asks for.
func (e *Export) Serve(c *gin.Context) {
	format, ok := exportFormat(c)
	if !ok {
		return
	}
	name := e.Filename
	if name == "" {
		name = "export.csv"
	}
	if format == formatNDJSON {
		if ext := path.Ext(name); strings.EqualFold(ext, ".csv") {
			name = strings.TrimSuffix(name, ext)
		}
		name += ".ndjson"
	}
	Attachment(c, name)

	if format == formatNDJSON {
		w := sink.Writer[json.RawMessage]{
			Encoder: sink.NDJSON[json.RawMessage]{}, Capacity: e.capacity(),
			Limit: e.Limit, StallTimeout: e.StallTimeout, OnReport: e.OnReport, Logger: e.Logger,
			Compress: e.Compress,
		}
		w.Stream(c, e.objects)
		return
	}
	w := sink.Writer[[]string]{
		Encoder: sink.CSV{GuardFormulas: !e.AllowFormulas}, Capacity: e.capacity(),
		Limit: e.Limit, StallTimeout: e.StallTimeout, OnReport: e.OnReport, Logger: e.Logger,
		Compress: e.Compress,
	}
	w.Stream(c, e.records)
}

// records is the producer of a CSV export: the header row, then one record
// per row. The header waits for the first row (or the end of an empty
// result), so that a query failing before its first row sends no byte and
// is answered with an error status.
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

// exportFormat returns the format the request asks for. It answers 400 and
// returns false if the format parameter names no format.
func exportFormat(c *gin.Context) (string, bool) {
	if err := malformedQuery(c); err != nil {
		badFormat(c, "", fmt.Sprintf("the query string is malformed (%v), so query parameter %q cannot be read", err, "format"))
		return "", false
	}
	raw, ok := c.GetQuery("format")
	switch {
	case !ok && prefersNDJSON(c.GetHeader("Accept")):
		return formatNDJSON, true
	case !ok:
		return formatCSV, true
	case strings.EqualFold(raw, formatCSV):
		return formatCSV, true
	case strings.EqualFold(raw, formatNDJSON):
		return formatNDJSON, true
	}
	badFormat(c, raw, fmt.Sprintf("query parameter %q must be %q or %q", "format", formatCSV, formatNDJSON))
	return "", false
}

// badFormat answers 400 with a JSON error about the format parameter, in
// the form of a ParamError with the allowed values in place of a range.
func badFormat(c *gin.Context, value, msg string) {
	_ = c.Error(errors.New(msg))
	c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{
		"parameter": "format",
		"value":     shorten(value),
		"allowed":   []string{formatCSV, formatNDJSON},
		"error":     msg,
	})
}

// prefersNDJSON reports whether an Accept header ranks NDJSON
// (application/x-ndjson, or application/json) above CSV (text/csv). Each is
// ranked by the quality of the most specific media range matching it.
func prefersNDJSON(accept string) bool {
	if accept == "" {
		return false
	}
	ndjson := max(quality(accept, "application", "x-ndjson"), quality(accept, "application", "json"))
	return ndjson > quality(accept, "text", "csv")
}

// quality returns the quality (0 to 1) that an Accept header gives the
// media type typ/sub: that of the most specific range matching it (typ/sub,
// then typ/*, then */*), or 0 if none does.
func quality(accept, typ, sub string) float64 {
	q, specificity := 0.0, 0
	for r := range strings.SplitSeq(accept, ",") {
		mediaRange, params, _ := strings.Cut(r, ";")
		rt, rs, _ := strings.Cut(strings.TrimSpace(mediaRange), "/")
		s := 0
		switch {
		case strings.EqualFold(rt, typ) && strings.EqualFold(rs, sub):
			s = 3
		case strings.EqualFold(rt, typ) && rs == "*":
			s = 2
		case rt == "*" && rs == "*":
			s = 1
		}
		if s <= specificity {
			continue
		}
		rq, ok := rangeQuality(params)
		if !ok {
			continue // a malformed range counts as absent
		}
		q, specificity = rq, s
	}
	return q
}

// rangeQuality returns the q parameter of a media range's parameters, 1
// if it has none; false if it is malformed.
func rangeQuality(params string) (float64, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(q >= 0 && q <= 1) {
			return 0, false
		}
		return q, true
	}
	return 1, true
}

// cursor reads the rows of one run of an Export's query and converts them.
type cursor struct {
	export *Export
	conn   *sql.Conn  // the connection the query runs on; nil before it
	names  []string   // the column names
	kinds  []kind     // how to write each column
	values []any      // the current row, as the driver returned it
	dest   []any      // pointers to values, for Scan
	enc    jsonBuffer // for object
}

// kind says how to write the values of a column, where its type matters.
type kind uint8

const (
	plain    kind = iota // by the value's Go type
	binary               // bytes in base64, always
	float32s             // floating point, in single precision
	date                 // times as dates
	numeric              // text of digits, a JSON number
	boolean              // 0 and 1 as false and true
	jsonText             // JSON, embedded as such in NDJSON
)

// query runs the export's query on a live connection (see liveConn) and
// learns its columns.
func (cur *cursor) query(ctx context.Context) (*sql.Rows, error) {
	e := cur.export
	conn, err := liveConn(ctx, e.DB)
	if err != nil {
		return nil, err
	}
	cur.conn = conn
	rows, err := conn.QueryContext(ctx, e.Query, e.Args...)
	if err != nil {
		return nil, err
	}
	types, err := rows.ColumnTypes()
	if err == nil && len(types) == 0 {
		err = errNoColumns
	}
	if err != nil {
		rows.Close()
		return nil, err
	}
	cur.names = make([]string, len(types))
	cur.kinds = make([]kind, len(types))
	cur.values = make([]any, len(types))
	cur.dest = make([]any, len(types))
	for i, t := range types {
		cur.names[i] = t.Name()
		cur.kinds[i] = kindOf(t)
		cur.dest[i] = &cur.values[i]
	}
	return rows, nil
}

// close returns the cursor's connection to the pool, once the rows are
// closed.
func (cur *cursor) close() {
	if cur.conn != nil {
		_ = cur.conn.Close()
	}
}

// liveConn returns a connection of db that answers a ping. A connection
// that the database dropped while it was idle in the pool (a restart, an
// idle timeout, pg_terminate_backend) would otherwise fail the query run on
// it, and so the export, although nothing is wrong any more: pgx, for one,
// checks only connections idle for more than a second before handing them
// out. A driver's Ping reports such a connection as driver.ErrBadConn, and
// database/sql then discards it: liveConn tries the next, as many times as
// the pool had connections. It costs one round trip to the database per
// export.
func liveConn(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	tries := db.Stats().OpenConnections + 1
	for {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		if err = conn.PingContext(ctx); err == nil {
			return conn, nil
		}
		_ = conn.Close()
		if tries--; tries == 0 || !errors.Is(err, driver.ErrBadConn) {
			return nil, err
		}
	}
}

// kindOf tells from a column's type how to write its values.
func kindOf(t *sql.ColumnType) kind {
	name, _, _ := strings.Cut(strings.ToUpper(t.DatabaseTypeName()), "(")
	switch name = strings.TrimSpace(name); {
	case name == "BYTEA", strings.Contains(name, "BLOB"), strings.Contains(name, "BINARY"):
		return binary
	case name == "DATE":
		return date
	case name == "NUMERIC", name == "DECIMAL":
		return numeric
	case name == "BOOL", name == "BOOLEAN":
		return boolean
	case name == "JSON", name == "JSONB":
		return jsonText
	case t.ScanType() == reflect.TypeFor[float32]():
		return float32s
	}
	return plain
}

// scan reads the current row into cur.values.
func (cur *cursor) scan(rows *sql.Rows) error {
	clear(cur.values)
	return rows.Scan(cur.dest...)
}

// record returns the current row as a CSV record.
func (cur *cursor) record(rows *sql.Rows) ([]string, error) {
	if err := cur.scan(rows); err != nil {
		return nil, err
	}
	record := make([]string, len(cur.values))
	for i, v := range cur.values {
		record[i] = text(v, cur.kinds[i])
	}
	return record, nil
}

// object returns the current row as a JSON object.
func (cur *cursor) object(rows *sql.Rows) (json.RawMessage, error) {
	if err := cur.scan(rows); err != nil {
		return nil, err
	}
	b := &cur.enc
	b.buf.Reset()
	b.buf.WriteByte('{')
	for i, v := range cur.values {
		if i > 0 {
			b.buf.WriteByte(',')
		}
		if err := b.encode(cur.names[i]); err != nil {
			return nil, err
		}
		b.buf.WriteByte(':')
		if err := b.encode(jsonValue(v, cur.kinds[i])); err != nil {
			return nil, fmt.Errorf("column %q: %w", cur.names[i], err)
		}
	}
	b.buf.WriteByte('}')
	return bytes.Clone(b.buf.Bytes()), nil
}

// text returns the CSV text of a value of a column of kind k.
func text(v any, k kind) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		if k != binary && utf8.Valid(v) {
			return string(v)
		}
		return base64.StdEncoding.EncodeToString(v)
	case int64:
		if k == boolean && (v == 0 || v == 1) {
			return strconv.FormatBool(v == 1)
		}
		return strconv.FormatInt(v, 10)
	case float64:
		return formatFloat(v, k)
	case bool:
		return strconv.FormatBool(v)
	case time.Time:
		if k == date && isMidnight(v) {
			return v.Format(time.DateOnly)
		}
		return v.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// jsonValue returns the value to encode as JSON for a value of a column of
// kind k.
func jsonValue(v any, k kind) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		switch {
		case k == numeric && isJSONNumber(v):
			return json.Number(v)
		case k == jsonText && json.Valid([]byte(v)):
			return json.RawMessage(v)
		}
		return v
	case []byte:
		if k == jsonText && json.Valid(v) {
			return json.RawMessage(v)
		}
		return text(v, k)
	case int64:
		if k == boolean && (v == 0 || v == 1) {
			return v == 1
		}
		return v
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return formatFloat(v, k)
		}
		return json.Number(formatFloat(v, k))
	case bool:
		return v
	case time.Time:
		return text(v, k)
	}
	return v
}

// formatFloat formats a float as encoding/json (and JavaScript) do: the
// shortest digits that read back as v, without exponent from 1e-6 to 1e21.
func formatFloat(v float64, k kind) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	bits := 64
	if k == float32s {
		bits = 32
	}
	f, abs := byte('f'), math.Abs(v)
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) ||
		bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		f = 'e'
	}
	b := strconv.AppendFloat(make([]byte, 0, 24), v, f, -1, bits)
	if f == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return string(b)
}

// isMidnight reports whether t has no time of day.
func isMidnight(t time.Time) bool {
	h, m, s := t.Clock()
	return h == 0 && m == 0 && s == 0 && t.Nanosecond() == 0
}

// isJSONNumber reports whether s is a number in JSON's syntax.
func isJSONNumber(s string) bool {
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	// Of the valid JSON texts, only numbers start with '-' or a digit and
	// end with a digit.
	return s != "" && (s[0] == '-' || isDigit(s[0])) && isDigit(s[len(s)-1]) && json.Valid([]byte(s))
}

// jsonBuffer encodes JSON values into a reused buffer.
type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// encode appends the JSON encoding of v to the buffer, without HTML
// escaping.
func (b *jsonBuffer) encode(v any) error {
	if b.enc == nil {
		b.enc = json.NewEncoder(&b.buf)
		b.enc.SetEscapeHTML(false)
	}
	n := b.buf.Len()
	if err := b.enc.Encode(v); err != nil {
		b.buf.Truncate(n)
		return err
	}
	b.buf.Truncate(b.buf.Len() - 1) // Encode's line feed
	return nil
}
