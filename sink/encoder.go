package sink

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Encoder frames the items of a stream as bytes. A [Writer] calls Append
// once per item, from one goroutine per stream; encoders in this package
// keep no per-stream state and are safe for concurrent use by many streams.
//
// Server-Sent Events and other framings are encoders too: anything that
// implements this interface can be streamed.
type Encoder[T any] interface {
	// ContentType is the media type of the stream, sent as Content-Type
	// unless the handler has set one.
	ContentType() string
	// Append appends the encoding of item to dst and returns the extended
	// slice. On error it returns dst unchanged, and the stream fails.
	Append(dst []byte, item T) ([]byte, error)
}

// Preamble is implemented by encoders that open a stream with bytes of
// their own before the first item, such as a CSV header row. A [Writer]
// calls AppendPreamble once, also for a stream with no items.
type Preamble interface {
	AppendPreamble(dst []byte) ([]byte, error)
}

// ErrLineBreak reports an item that [Lines] cannot frame because it
// contains a line feed.
var ErrLineBreak = errors.New("sink: item contains a line feed")

// Lines encodes each item as one line of text, ending in "\n", as
// text/plain. Items of string and byte-slice types are written as they are,
// integers in decimal, values implementing encoding.TextAppender or
// fmt.Stringer through those methods, and anything else as fmt.Append
// formats it (nil pointers as "<nil>"). An item containing "\n" fails with [ErrLineBreak], so that
// splitting the body on "\n" always gives back the items.
type Lines[T any] struct{}

// ContentType returns "text/plain; charset=utf-8".
func (Lines[T]) ContentType() string { return "text/plain; charset=utf-8" }

// Append appends item and a line feed to dst.
func (l Lines[T]) Append(dst []byte, item T) ([]byte, error) {
	if f := l.lineAppender(); f != nil {
		return f(dst, item)
	}
	start := len(dst)
	out, err := appendValue(dst, item)
	if err != nil {
		return dst, fmt.Errorf("sink: encode line: %w", err)
	}
	if bytes.IndexByte(out[start:], '\n') >= 0 {
		return dst, ErrLineBreak
	}
	return append(out, '\n'), nil
}

// lineAppender returns Append for items of type T when T is a string,
// byte-slice, integer or float64 type, and nil for any other type, whose
// items go through appendValue. A stream resolves it once (appendFunc)
// instead of on every item.
func (Lines[T]) lineAppender() func([]byte, T) ([]byte, error) {
	var f any
	switch any(*new(T)).(type) {
	case string:
		f = appendStringLine
	case []byte:
		f = appendBytesLine
	case int:
		f = appendIntLine[int]
	case int64:
		f = appendIntLine[int64]
	case int32:
		f = appendIntLine[int32]
	case uint:
		f = appendUintLine[uint]
	case uint64:
		f = appendUintLine[uint64]
	case uint32:
		f = appendUintLine[uint32]
	case float64:
		f = appendFloatLine
	default:
		return nil
	}
	return f.(func([]byte, T) ([]byte, error))
}

// appendStringLine is Lines' Append for strings.
func appendStringLine(dst []byte, v string) ([]byte, error) {
	if strings.IndexByte(v, '\n') >= 0 {
		return dst, ErrLineBreak
	}
	return append(append(dst, v...), '\n'), nil
}

// appendBytesLine is Lines' Append for byte slices.
func appendBytesLine(dst []byte, v []byte) ([]byte, error) {
	if bytes.IndexByte(v, '\n') >= 0 {
		return dst, ErrLineBreak
	}
	return append(append(dst, v...), '\n'), nil
}

// appendIntLine is Lines' Append for signed integers, which never hold a
// line feed.
func appendIntLine[I int | int64 | int32](dst []byte, v I) ([]byte, error) {
	return append(strconv.AppendInt(dst, int64(v), 10), '\n'), nil
}

// appendUintLine is Lines' Append for unsigned integers.
func appendUintLine[U uint | uint64 | uint32](dst []byte, v U) ([]byte, error) {
	return append(strconv.AppendUint(dst, uint64(v), 10), '\n'), nil
}

// appendFloatLine is Lines' Append for float64.
func appendFloatLine(dst []byte, v float64) ([]byte, error) {
	return append(strconv.AppendFloat(dst, v, 'g', -1, 64), '\n'), nil
}

// appendFunc returns enc's Append as a func value, resolved once for a
// stream: for Lines of one of the types its type switch names, the case
// itself, so that each item costs one direct call and no interface call
// or type switch.
func appendFunc[T any](enc Encoder[T]) func([]byte, T) ([]byte, error) {
	switch enc.(type) {
	case Lines[T], *Lines[T]:
		if f := (Lines[T]{}).lineAppender(); f != nil {
			return f
		}
	}
	return enc.Append
}

// appendValue appends the text of a value of any other type.
// Named string and byte-slice types are written as text, a nil pointer as
// fmt prints it, and fmt.Stringer values through fmt, which calls String.
func appendValue(dst []byte, v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	switch {
	case !rv.IsValid(), rv.Kind() == reflect.Pointer && rv.IsNil():
		return fmt.Append(dst, v), nil
	}
	if t, ok := v.(encoding.TextAppender); ok {
		return t.AppendText(dst)
	}
	switch {
	case rv.Kind() == reflect.String:
		return append(dst, rv.String()...), nil
	case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8:
		return append(dst, rv.Bytes()...), nil
	}
	return fmt.Append(dst, v), nil
}

// Bytes writes each item as it is, with no framing: the stream is the
// concatenation of the items. Its items are chunks, often of tens of
// kilobytes (see generator.ReadChunks), so a [Writer] with this encoder
// buffers DefaultChunkCapacity of them unless its Capacity says otherwise.
type Bytes struct {
	// Type is the stream's media type; empty means
	// "application/octet-stream".
	Type string
}

// ContentType returns b.Type or "application/octet-stream".
func (b Bytes) ContentType() string {
	if b.Type == "" {
		return "application/octet-stream"
	}
	return b.Type
}

// Append appends item to dst.
func (Bytes) Append(dst []byte, item []byte) ([]byte, error) {
	return append(dst, item...), nil
}

// DefaultChunkCapacity is the Capacity of a [Writer] whose encoder is
// [Bytes] when its own Capacity is zero: a stream then holds at most
// 2×8+1 chunks (about 0.5 MiB of 32 KiB chunks), however slow its client.
const DefaultChunkCapacity = 8

func (Bytes) chunks() {}

// chunked is implemented by encoders whose items are chunks of bytes.
type chunked interface{ chunks() }

// NDJSON encodes each item as one line of JSON (newline-delimited JSON, as
// application/x-ndjson). JSON escapes line breaks inside strings, so every
// line holds exactly one item. HTML characters are not escaped.
type NDJSON[T any] struct {
	// EndRecord, if set, ends every stream with a record of its own, so
	// that a client can tell a complete stream from a cut one whatever
	// its HTTP stack makes of a failed transfer: {"end":"completed"}
	// after the last item, or {"end":"failed","error":"…"} (the message a
	// client may see, as in an error status's body) before the response
	// is aborted. A stream without the completed record is incomplete.
	EndRecord bool
}

// AppendEpilogue appends the end record, if EndRecord is set; see
// sink.Epilogue. A failed stream is still aborted after it.
func (e NDJSON[T]) AppendEpilogue(dst []byte, end End) ([]byte, bool) {
	if !e.EndRecord {
		return dst, false
	}
	if end.Err == nil {
		return append(dst, `{"end":"completed"}`+"\n"...), true
	}
	msg, _ := json.Marshal(end.Message) // a string always marshals
	dst = append(dst, `{"end":"failed","error":`...)
	return append(append(dst, msg...), "}\n"...), false
}

// ContentType returns "application/x-ndjson".
func (NDJSON[T]) ContentType() string { return "application/x-ndjson" }

// jsonEncoders holds json.Encoders writing to an appender, so that encoding
// an item allocates no encoder.
var jsonEncoders = sync.Pool{New: func() any {
	a := &appender{}
	enc := json.NewEncoder(a)
	enc.SetEscapeHTML(false)
	return &jsonEncoder{a: a, enc: enc}
}}

type jsonEncoder struct {
	a   *appender
	enc *json.Encoder
}

// Append appends the JSON encoding of item and a line feed to dst.
func (NDJSON[T]) Append(dst []byte, item T) ([]byte, error) {
	je := jsonEncoders.Get().(*jsonEncoder)
	defer jsonEncoders.Put(je)
	je.a.b = dst
	err := je.enc.Encode(item) // Encode adds the line feed
	out := je.a.b
	je.a.b = nil
	if err != nil {
		return dst, fmt.Errorf("sink: encode JSON: %w", err)
	}
	return out, nil
}

// CSV encodes records as comma-separated values (RFC 4180) as text/csv,
// byte for byte as encoding/csv's Writer writes them (but for a record of
// one empty field, below), appended straight to the batch.
type CSV struct {
	// Header, if not nil, is written as the first row, also for a stream
	// with no records.
	Header []string
	// AllowFormulas turns off the guard against spreadsheet formula
	// injection (OWASP's "CSV injection"). By default every cell that a
	// spreadsheet would run as a formula — one starting with '=', '+',
	// '-', '@', tab or carriage return, unless it is a plain number such
	// as "-42" or "+1.5" — gets a leading single quote, so that a file
	// opened in Excel or similar programs shows untrusted text as text.
	// Set it only for files that no spreadsheet will open, or whose cells
	// are all trusted.
	AllowFormulas bool
	// CRLF ends rows with "\r\n" instead of "\n". As encoding/csv does
	// in that mode, a "\r\n" inside a cell is written as "\n" and a lone
	// "\r" is dropped.
	CRLF bool
}

// ContentType returns "text/csv; charset=utf-8".
func (CSV) ContentType() string { return "text/csv; charset=utf-8" }

// AppendPreamble appends the header row, if any.
func (e CSV) AppendPreamble(dst []byte) ([]byte, error) {
	if e.Header == nil {
		return dst, nil
	}
	return e.Append(dst, e.Header)
}

// ErrEmptyRecord reports a CSV record with no fields, which has no
// encoding.
var ErrEmptyRecord = errors.New("sink: CSV record has no fields")

// Append appends record as one CSV row. A record of one empty field is
// written as `""`, since an empty line would be skipped by CSV readers.
func (e CSV) Append(dst []byte, record []string) ([]byte, error) {
	switch {
	case len(record) == 0:
		return dst, ErrEmptyRecord
	case len(record) == 1 && record[0] == "":
		dst = append(dst, `""`...)
		if e.CRLF {
			dst = append(dst, '\r')
		}
		return append(dst, '\n'), nil
	}
	for i, cell := range record {
		if i > 0 {
			dst = append(dst, ',')
		}
		guard := ""
		if !e.AllowFormulas && isFormula(cell) {
			guard = "'"
		}
		dst = appendCSVField(dst, guard, cell, e.CRLF)
	}
	if e.CRLF {
		dst = append(dst, '\r')
	}
	return append(dst, '\n'), nil
}

// csvSpecial marks the bytes that make a CSV field quoted; csvEscaped
// those of them that a quoted field does not hold as they are.
var (
	csvSpecial = [256]bool{',': true, '"': true, '\r': true, '\n': true}
	csvEscaped = [256]bool{'"': true, '\r': true, '\n': true}
)

// appendCSVField appends the field prefix+field (prefix is a formula guard's
// quote, or empty) as encoding/csv's Writer writes it with a comma as
// delimiter, byte for byte, without concatenating the two: quoted if it
// holds a comma, a double quote, CR or LF, is `\.`, or begins with a space;
// inside quotes a double quote is doubled and, with crlf, a line feed is
// written as CRLF and a lone CR dropped. The bytes between those that
// change are copied in runs, not one by one.
func appendCSVField(dst []byte, prefix, field string, crlf bool) []byte {
	first := csvIndex(field, true) // the first special byte, or len(field)
	quote := first < len(field)
	if prefix == "" && !quote && field != "" {
		r, _ := utf8.DecodeRuneInString(field)
		quote = field == `\.` || unicode.IsSpace(r)
	}
	if !quote {
		dst = append(dst, prefix...)
		return append(dst, field...)
	}
	dst = append(dst, '"')
	dst = append(dst, prefix...)
	// field[:first] holds no special byte.
	dst = append(dst, field[:first]...)
	for rest := field[first:]; rest != ""; {
		i := csvIndex(rest, false)
		dst = append(dst, rest[:i]...)
		if i == len(rest) {
			break
		}
		switch rest[i] {
		case '"':
			dst = append(dst, `""`...)
		case '\r':
			if !crlf {
				dst = append(dst, '\r')
			}
		case '\n':
			if crlf {
				dst = append(dst, '\r')
			}
			dst = append(dst, '\n')
		}
		rest = rest[i+1:]
	}
	return append(dst, '"')
}

// Bytes repeated in every byte of a word, for csvIndex.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// csvIndex returns the index of the first byte of s that csvSpecial marks
// if comma is set, csvEscaped otherwise, or len(s) if there is none. It
// looks at eight bytes at a time while none of them is one of those, which
// is most of a field.
func csvIndex(s string, comma bool) int {
	i := 0
	for ; len(s)-i >= 8; i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if hasByte(x, '"') || hasByte(x, '\n') || hasByte(x, '\r') || comma && hasByte(x, ',') {
			break // the word holds one: find it below
		}
	}
	table := &csvEscaped
	if comma {
		table = &csvSpecial
	}
	for i < len(s) && !table[s[i]] {
		i++
	}
	return i
}

// hasByte reports whether one of the eight bytes of x is c. (x^c in every
// byte has a zero byte where x has c; subtracting ones borrows into the
// high bit of the lowest such byte, and of no byte if there is none.)
func hasByte(x uint64, c byte) bool {
	v := x ^ (ones * uint64(c))
	return (v-ones)&^v&highs != 0
}

// isFormula reports whether a spreadsheet would evaluate cell.
func isFormula(cell string) bool {
	if cell == "" {
		return false
	}
	switch cell[0] {
	case '=', '@', '\t', '\r':
		return true
	case '+', '-':
		return !isPlainNumber(cell[1:])
	}
	return false
}

// isPlainNumber reports whether s is digits with at most one decimal point
// between digits.
func isPlainNumber(s string) bool {
	digits, point := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !point && digits > 0 && i < len(s)-1:
			point = true
		default:
			return false
		}
	}
	return digits > 0
}

// appender is an io.Writer that appends to a byte slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}
