package handlers

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

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

// record returns the current row as a CSV record: the cursor's own slice,
// refilled for every row, which the caller must be done with before it
// asks for the next row (see Export.records).
func (cur *cursor) record(rows *sql.Rows) ([]string, error) {
	if err := cur.scan(rows); err != nil {
		return nil, err
	}
	for i, v := range cur.values {
		cur.cells[i] = text(v, cur.kinds[i])
	}
	return cur.cells, nil
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
