package sink_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/sink"
)

// update rewrites the golden files: go test ./sink -run TestCSVGolden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The encoders of the package, as the Writer sees them.
var (
	_ sink.Encoder[string]   = sink.Lines[string]{}
	_ sink.Encoder[[]byte]   = sink.Bytes{}
	_ sink.Encoder[any]      = sink.NDJSON[any]{}
	_ sink.Encoder[[]string] = sink.CSV{}
	_ sink.Preamble          = sink.CSV{}
)

// encodeFunc appends one item to dst with some encoder.
type encodeFunc func(dst []byte) ([]byte, error)

// line encodes item with Lines[T].
func line[T any](item T) encodeFunc {
	return func(dst []byte) ([]byte, error) { return sink.Lines[T]{}.Append(dst, item) }
}

// ndjson encodes item with NDJSON[T].
func ndjson[T any](item T) encodeFunc {
	return func(dst []byte) ([]byte, error) { return sink.NDJSON[T]{}.Append(dst, item) }
}

// dstShapes are the destinations every encoder must append to: nil, a
// prefix with no spare capacity (append must reallocate) and a prefix with
// room to spare (append must not clobber it).
func dstShapes() map[string]func() []byte {
	return map[string]func() []byte{
		"nil":   func() []byte { return nil },
		"tight": func() []byte { return slices.Clip([]byte("prefix|")) },
		"roomy": func() []byte { return append(make([]byte, 0, 256), "prefix|"...) },
	}
}

// mustNotPanic runs f and turns a panic into a test error, so that a
// panicking encoder is reported as the failure it is and the other cases
// still run.
func mustNotPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Errorf("panicked: %v", v)
		}
	}()
	f()
}

// point implements encoding.TextAppender.
type point struct{ X, Y int }

func (p point) AppendText(b []byte) ([]byte, error) {
	return fmt.Appendf(b, "(%d,%d)", p.X, p.Y), nil
}

// color implements fmt.Stringer; it is an integer that must not be
// written as one.
type color int

func (c color) String() string { return [...]string{"red", "green"}[c] }

// label is a named string type, written through fmt.
type label string

// multilineStringer is a fmt.Stringer whose text holds a line feed.
type multilineStringer struct{}

func (multilineStringer) String() string { return "one\ntwo" }

// multilineAppender is an encoding.TextAppender whose text holds a line
// feed.
type multilineAppender struct{}

func (multilineAppender) AppendText(b []byte) ([]byte, error) { return append(b, "one\ntwo"...), nil }

// errTextFailed is the error of failingAppender.
var errTextFailed = errors.New("no text for you")

// failingAppender fails after writing part of its text, as an AppendText
// is allowed to; a conforming appender may also return a nil slice with
// its error, as time.Time does.
type failingAppender struct{ nilOnError bool }

func (f failingAppender) AppendText(b []byte) ([]byte, error) {
	if f.nilOnError {
		return nil, errTextFailed
	}
	return append(b, "partial"...), errTextFailed
}

func TestLinesAppend(t *testing.T) {
	tests := []struct {
		name   string
		encode encodeFunc
		want   string // the line, without its "\n"
	}{
		{"string", line("hello, world"), "hello, world"},
		{"empty string", line(""), ""},
		{"string with other control characters", line("a\tb\rc\x00ü"), "a\tb\rc\x00ü"},
		{"invalid UTF-8 as is", line("\xff\xfe"), "\xff\xfe"},
		{"bytes", line([]byte("raw bytes")), "raw bytes"},
		{"nil bytes", line([]byte(nil)), ""},
		{"int", line(-42), "-42"},
		{"int min", line(math.MinInt), strconv.Itoa(math.MinInt)},
		{"int8", line(int8(math.MinInt8)), "-128"},
		{"int16", line(int16(math.MinInt16)), "-32768"},
		{"int32", line(int32(math.MinInt32)), "-2147483648"},
		{"rune is int32", line('A'), "65"},
		{"int64", line(int64(math.MinInt64)), "-9223372036854775808"},
		{"uint", line(uint(math.MaxUint)), strconv.FormatUint(math.MaxUint, 10)},
		{"uint8", line(uint8(math.MaxUint8)), "255"},
		{"uint16", line(uint16(math.MaxUint16)), "65535"},
		{"uint32", line(uint32(math.MaxUint32)), "4294967295"},
		{"uint64", line(uint64(math.MaxUint64)), "18446744073709551615"},
		{"uintptr", line(uintptr(4096)), "4096"},
		{"float64", line(1.5), "1.5"},
		{"float64 shortest", line(1.0 / 3), "0.3333333333333333"},
		{"float64 large", line(1e21), "1e+21"},
		{"float64 negative zero", line(math.Copysign(0, -1)), "-0"},
		{"float64 NaN", line(math.NaN()), "NaN"},
		{"float64 infinity", line(math.Inf(1)), "+Inf"},
		{"float32", line(float32(2.5)), "2.5"},
		{"TextAppender", line(point{1, 2}), "(1,2)"},
		{"TextAppender netip.Addr", line(netip.MustParseAddr("2001:db8::1")), "2001:db8::1"},
		{"TextAppender time.Time", line(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), "2025-01-02T03:04:05Z"},
		{"Stringer", line(color(1)), "green"},
		{"named string", line(label("a label")), "a label"},
		{"fallback struct", line(struct {
			Name string
			N    int
		}{"gopher", 7}), "{gopher 7}"},
		{"fallback slice", line([]int{1, 2, 3}), "[1 2 3]"},
		{"nil interface", line[any](nil), "<nil>"},
		{"named byte slice as text", line(json.RawMessage(`{"a":1}`)), `{"a":1}`},
		{"nil pointer Stringer", line((*url.URL)(nil)), "<nil>"},
		{"nil pointer TextAppender", line((*netip.Addr)(nil)), "<nil>"},
	}
	for _, tt := range tests {
		for shape, newDst := range dstShapes() {
			t.Run(tt.name+"/"+shape, func(t *testing.T) {
				dst := newDst()
				prefix := string(dst)
				got, err := tt.encode(dst)
				if err != nil {
					t.Fatalf("Append: %v", err)
				}
				if want := prefix + tt.want + "\n"; string(got) != want {
					t.Errorf("Append = %q, want %q", got, want)
				}
			})
		}
	}
}

func TestLinesRejects(t *testing.T) {
	tests := []struct {
		name    string
		encode  encodeFunc
		wantErr error
	}{
		{"string with line feed", line("one\ntwo"), sink.ErrLineBreak},
		{"string ending in line feed", line("one\n"), sink.ErrLineBreak},
		{"string with CRLF", line("one\r\ntwo"), sink.ErrLineBreak},
		{"line feed alone", line("\n"), sink.ErrLineBreak},
		{"bytes with line feed", line([]byte("one\ntwo")), sink.ErrLineBreak},
		{"named string with line feed", line(label("one\ntwo")), sink.ErrLineBreak},
		{"Stringer with line feed", line(multilineStringer{}), sink.ErrLineBreak},
		{"TextAppender with line feed", line(multilineAppender{}), sink.ErrLineBreak},
		{"fallback struct with line feed", line(struct{ S string }{"one\ntwo"}), sink.ErrLineBreak},
		{"TextAppender error", line(failingAppender{}), errTextFailed},
		{"TextAppender error with nil slice", line(failingAppender{nilOnError: true}), errTextFailed},
		{"time.Time out of RFC 3339 range", line(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)), nil},
	}
	for _, tt := range tests {
		for shape, newDst := range dstShapes() {
			t.Run(tt.name+"/"+shape, func(t *testing.T) {
				dst := newDst()
				prefix := string(dst)
				mustNotPanic(t, func() {
					got, err := tt.encode(dst)
					switch {
					case err == nil:
						t.Errorf("Append = %q, nil; want an error", got)
					case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
						t.Errorf("Append error = %v, want %v", err, tt.wantErr)
					}
					if string(got) != prefix {
						t.Errorf("Append changed dst to %q, want %q", got, prefix)
					}
				})
			})
		}
	}
}

func TestLinesAppendAllocatesNothing(t *testing.T) {
	dst := make([]byte, 0, 1024)
	// Values computed at run time, so that the compiler cannot box them
	// statically: an encoder that converted them to an escaping interface
	// would allocate.
	n := 1 << 40
	text := strings.Repeat("x", 100)
	raw := bytes.Repeat([]byte("y"), 100)
	f := math.Pi * float64(n)
	tests := []struct {
		name   string
		append func()
	}{
		{"int", func() { n++; dst, _ = sink.Lines[int]{}.Append(dst[:0], n) }},
		{"int64", func() { n++; dst, _ = sink.Lines[int64]{}.Append(dst[:0], int64(n)) }},
		{"uint64", func() { n++; dst, _ = sink.Lines[uint64]{}.Append(dst[:0], uint64(n)) }},
		{"float64", func() { f++; dst, _ = sink.Lines[float64]{}.Append(dst[:0], f) }},
		{"string", func() { dst, _ = sink.Lines[string]{}.Append(dst[:0], text) }},
		{"bytes", func() { dst, _ = sink.Lines[[]byte]{}.Append(dst[:0], raw) }},
		{"Bytes encoder", func() { dst, _ = sink.Bytes{}.Append(dst[:0], raw) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if allocs := testing.AllocsPerRun(200, tt.append); allocs != 0 {
				t.Errorf("Append allocates %v times per item, want 0", allocs)
			}
		})
	}
}

func TestBytes(t *testing.T) {
	items := [][]byte{[]byte("ab"), nil, {}, []byte("c\nd"), {0, 0xff}}
	var got []byte
	for _, item := range items {
		var err error
		if got, err = (sink.Bytes{}).Append(got, item); err != nil {
			t.Fatalf("Append(%q): %v", item, err)
		}
	}
	if want := "abc\nd\x00\xff"; string(got) != want {
		t.Errorf("stream = %q, want the concatenation %q", got, want)
	}
}

func TestContentType(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"Lines", sink.Lines[int]{}.ContentType(), "text/plain; charset=utf-8"},
		{"Bytes default", sink.Bytes{}.ContentType(), "application/octet-stream"},
		{"Bytes override", sink.Bytes{Type: "image/png"}.ContentType(), "image/png"},
		{"NDJSON", sink.NDJSON[any]{}.ContentType(), "application/x-ndjson"},
		{"CSV", sink.CSV{}.ContentType(), "text/csv; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("ContentType() = %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// htmlAndLines is a value whose JSON a careless encoder would escape or
// spread over several lines.
type htmlAndLines struct {
	Name string `json:"name"`
	Note string `json:"note,omitempty"`
}

func TestNDJSONAppend(t *testing.T) {
	tests := []struct {
		name   string
		encode encodeFunc
		want   string // the line, without its "\n"
	}{
		{"struct", ndjson(htmlAndLines{Name: "gopher"}), `{"name":"gopher"}`},
		{"HTML not escaped", ndjson("<b>Tom & Jerry</b>"), `"<b>Tom & Jerry</b>"`},
		{"line breaks escaped", ndjson("a\nb\r\nc"), `"a\nb\r\nc"`},
		{"U+2028 and U+2029 escaped", ndjson("x\u2028y\u2029z"), `"x\u2028y\u2029z"`},
		{"nested newlines", ndjson(htmlAndLines{Name: "a\nb", Note: "<\n>"}), `{"name":"a\nb","note":"<\n>"}`},
		{"map keys sorted", ndjson(map[string]int{"b": 2, "a": 1}), `{"a":1,"b":2}`},
		{"number", ndjson(1.5), `1.5`},
		{"null", ndjson[any](nil), `null`},
		{"invalid UTF-8 replaced", ndjson("\xff"), `"\ufffd"`},
		{"raw message compacted", ndjson(json.RawMessage("{\n \"a\" : 1\n}")), `{"a":1}`},
	}
	for _, tt := range tests {
		for shape, newDst := range dstShapes() {
			t.Run(tt.name+"/"+shape, func(t *testing.T) {
				dst := newDst()
				prefix := string(dst)
				got, err := tt.encode(dst)
				if err != nil {
					t.Fatalf("Append: %v", err)
				}
				if want := prefix + tt.want + "\n"; string(got) != want {
					t.Errorf("Append = %q, want %q", got, want)
				}
			})
		}
	}
}

func TestNDJSONOneLinePerItem(t *testing.T) {
	items := []any{
		"plain",
		"multi\nline\r\ntext\u2028with\u2029separators",
		map[string]any{"k\nk": []any{"v\n", 1.0, nil}},
		htmlAndLines{Name: "<script>\n", Note: "&amp;"},
	}
	var out []byte
	for _, item := range items {
		var err error
		if out, err = (sink.NDJSON[any]{}).Append(out, item); err != nil {
			t.Fatalf("Append(%#v): %v", item, err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(items) {
		t.Fatalf("%d items make %d lines:\n%s", len(items), len(lines), out)
	}
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\u2028\u2029") {
			t.Errorf("line %d holds a raw line separator: %q", i, l)
		}
		var got any
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Errorf("line %d = %q: %v", i, l, err)
			continue
		}
		want := roundTripJSON(t, items[i])
		if !equalJSON(got, want) {
			t.Errorf("line %d decodes to %#v, want %#v", i, got, want)
		}
	}
}

// roundTripJSON returns v as encoding/json decodes it into an any.
func roundTripJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// equalJSON compares decoded JSON values.
func equalJSON(a, b any) bool {
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}

// failingMarshaler fails to encode itself.
type failingMarshaler struct{}

func (failingMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("no JSON for you") }

func TestNDJSONRejects(t *testing.T) {
	tests := []struct {
		name   string
		encode encodeFunc
	}{
		{"channel", ndjson(make(chan int))},
		{"func", ndjson(func() {})},
		{"channel in any", ndjson[any](make(chan int))},
		{"NaN", ndjson(math.NaN())},
		{"infinity", ndjson(math.Inf(-1))},
		// The unencodable field comes after an encodable one, so that an
		// encoder writing as it goes would leave part of the item behind.
		{"struct with a func field", ndjson(struct {
			A string
			F func()
		}{"written first", func() {}})},
		{"map with a channel value", ndjson(map[string]any{"a": 1, "b": make(chan int)})},
		{"failing MarshalJSON", ndjson(failingMarshaler{})},
	}
	for _, tt := range tests {
		for shape, newDst := range dstShapes() {
			t.Run(tt.name+"/"+shape, func(t *testing.T) {
				dst := newDst()
				prefix := string(dst)
				got, err := tt.encode(dst)
				if err == nil {
					t.Errorf("Append = %q, nil; want an error", got)
				}
				if string(got) != prefix {
					t.Errorf("Append changed dst to %q, want %q", got, prefix)
				}
				// The pooled encoder that failed must still work.
				for range 3 {
					if got, err := (sink.NDJSON[string]{}).Append(nil, "ok"); err != nil || string(got) != "\"ok\"\n" {
						t.Fatalf("Append after a failure = %q, %v; want %q", got, err, "\"ok\"\n")
					}
				}
			})
		}
	}
}

// appendCSV encodes records after the preamble, as a Writer does.
func appendCSV(t testing.TB, e sink.CSV, records ...[]string) []byte {
	t.Helper()
	out, err := e.AppendPreamble(nil)
	if err != nil {
		t.Fatalf("AppendPreamble: %v", err)
	}
	for _, r := range records {
		if out, err = e.Append(out, r); err != nil {
			t.Fatalf("Append(%q): %v", r, err)
		}
	}
	return out
}

func TestCSVAppend(t *testing.T) {
	tests := []struct {
		name    string
		csv     sink.CSV
		records [][]string
		want    string
	}{
		{"plain", sink.CSV{}, [][]string{{"a", "b", "c"}, {"1", "2", "3"}}, "a,b,c\n1,2,3\n"},
		{"comma quoted", sink.CSV{}, [][]string{{"a,b", "c"}}, "\"a,b\",c\n"},
		{"quote doubled", sink.CSV{}, [][]string{{`say "hi"`}}, `"say ""hi"""` + "\n"},
		{"line feed quoted", sink.CSV{}, [][]string{{"one\ntwo", "x"}}, "\"one\ntwo\",x\n"},
		{"carriage return quoted", sink.CSV{}, [][]string{{"one\rtwo"}}, "\"one\rtwo\"\n"},
		{"leading space quoted", sink.CSV{AllowFormulas: true}, [][]string{{" lead", "trail ", "\ttab"}}, "\" lead\",trail ,\"\ttab\"\n"},
		{"empty cells", sink.CSV{}, [][]string{{"", "", ""}}, ",,\n"},
		{"unicode as is", sink.CSV{}, [][]string{{"ü", "日本語"}}, "ü,日本語\n"},
		{"records of different lengths", sink.CSV{}, [][]string{{"a"}, {"b", "c"}}, "a\nb,c\n"},
		{"CRLF", sink.CSV{CRLF: true}, [][]string{{"a", "b"}, {"c", "d"}}, "a,b\r\nc,d\r\n"},
		{"CRLF line feed in cell", sink.CSV{CRLF: true}, [][]string{{"one\ntwo"}}, "\"one\r\ntwo\"\r\n"},
		{"header", sink.CSV{Header: []string{"id", "name"}}, [][]string{{"1", "a"}}, "id,name\n1,a\n"},
		{"header with no records", sink.CSV{Header: []string{"id", "name"}}, nil, "id,name\n"},
		{"header quoted", sink.CSV{Header: []string{"id", "last, first"}}, nil, "id,\"last, first\"\n"},
		{"header CRLF", sink.CSV{Header: []string{"id"}, CRLF: true}, [][]string{{"1"}}, "id\r\n1\r\n"},
		{"no header", sink.CSV{}, nil, ""},
		{"guard", sink.CSV{}, [][]string{{"=1+1", "-42", "@x"}}, "'=1+1,-42,'@x\n"},
		{"guard and quoting", sink.CSV{}, [][]string{{"=\"a\",b"}}, `"'=""a"",b"` + "\n"},
		{"guarded by default", sink.CSV{}, [][]string{{"=1+1", "@x"}}, "'=1+1,'@x\n"},
		{"no guard when formulas are allowed", sink.CSV{AllowFormulas: true}, [][]string{{"=1+1", "@x"}}, "=1+1,@x\n"},
		{"one empty cell is not an empty line", sink.CSV{}, [][]string{{"a"}, {""}, {"b"}}, "a\n\"\"\nb\n"},
		{"one empty cell CRLF", sink.CSV{CRLF: true}, [][]string{{""}}, "\"\"\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := appendCSV(t, tt.csv, tt.records...); string(got) != tt.want {
				t.Errorf("stream = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCSVRefusesEmptyRecord(t *testing.T) {
	dst := []byte("kept\n")
	got, err := sink.CSV{}.Append(dst, []string{})
	if !errors.Is(err, sink.ErrEmptyRecord) || string(got) != "kept\n" {
		t.Errorf("Append(no fields) = %q, %v; want dst unchanged and ErrEmptyRecord", got, err)
	}
}

func TestCSVPreambleKeepsDst(t *testing.T) {
	for shape, newDst := range dstShapes() {
		t.Run(shape, func(t *testing.T) {
			dst := newDst()
			prefix := string(dst)
			got, err := sink.CSV{}.AppendPreamble(dst)
			if err != nil || string(got) != prefix {
				t.Errorf("AppendPreamble without Header = %q, %v; want %q, nil", got, err, prefix)
			}
			got, err = sink.CSV{Header: []string{"h"}}.AppendPreamble(newDst())
			if want := prefix + "h\n"; err != nil || string(got) != want {
				t.Errorf("AppendPreamble = %q, %v; want %q, nil", got, err, want)
			}
		})
	}
}

func TestCSVGuardsFormulasByDefault(t *testing.T) {
	tests := []struct {
		cell string
		want string // the cell as a CSV reader reads it back
	}{
		{"=SUM(A1:A9)", "'=SUM(A1:A9)"},
		{"=", "'="},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"@SUM(1)", "'@SUM(1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"+", "'+"},
		{"-", "'-"},
		{"-1.", "'-1."},
		{"-.5", "'-.5"},
		{"+1.2.3", "'+1.2.3"},
		{"-1e5", "'-1e5"},
		{"--1", "'--1"},
		{"-0x10", "'-0x10"},
		{"- 1", "'- 1"},
		// Plain numbers are data, not formulas.
		{"-42", "-42"},
		{"+1.5", "+1.5"},
		{"-0.5", "-0.5"},
		{"+007", "+007"},
		{"42", "42"},
		{"3.14", "3.14"},
		// No formula character at the start.
		{"", ""},
		{"a=b", "a=b"},
		{"'=already quoted", "'=already quoted"},
		{"plain text", "plain text"},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.cell), func(t *testing.T) {
			record := []string{"before", tt.cell, "after"}
			out := appendCSV(t, sink.CSV{}, record)
			got, err := csv.NewReader(bytes.NewReader(out)).Read()
			if err != nil {
				t.Fatalf("reading back %q: %v", out, err)
			}
			if want := []string{"before", tt.want, "after"}; !slices.Equal(got, want) {
				t.Errorf("record reads back as %q, want %q (wire %q)", got, want, out)
			}
		})
	}
}

func TestCSVGuardDoesNotModifyRecord(t *testing.T) {
	backing := []string{"=1", "ok", "+x", "-42", "@y", "spare"}
	record := backing[:5] // with spare capacity that an append could reuse
	want := slices.Clone(backing)
	e := sink.CSV{Header: []string{"=h"}}
	header := slices.Clone(e.Header)
	out := appendCSV(t, e, record)
	if !slices.Equal(backing, want) {
		t.Errorf("Append changed the caller's record to %q, want %q", backing, want)
	}
	if !slices.Equal(e.Header, header) {
		t.Errorf("AppendPreamble changed the Header to %q, want %q", e.Header, header)
	}
	if wantOut := "'=h\n'=1,ok,'+x,-42,'@y\n"; string(out) != wantOut {
		t.Errorf("stream = %q, want %q", out, wantOut)
	}
}

// awkwardRecords are records with every kind of cell that needs care: the
// golden files in testdata show how CSV writes them.
var awkwardRecords = [][]string{
	{"1", "plain", "", "-42", "+1.5"},
	{"2", "comma, inside", `"quoted"`, `say "hi"`, "trailing space "},
	{"3", "line\nfeed", "carriage\rreturn", "crlf\r\ninside", " leading space"},
	{"4", "=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"},
	{"5", "\t=tab first", "\r=cr first", "ünïcödé ✓", "日本語"},
	{"6", `\.`, "'already", "-", ""},
}

// awkwardHeader is the header of the golden files.
var awkwardHeader = []string{"id", "text, with comma", "quote\"d", "number", "last"}

func TestCSVGolden(t *testing.T) {
	tests := []struct {
		file string
		csv  sink.CSV
	}{
		{"awkward.csv", sink.CSV{Header: awkwardHeader}},
		{"awkward_crlf.csv", sink.CSV{Header: awkwardHeader, CRLF: true}},
		{"awkward_unguarded.csv", sink.CSV{Header: awkwardHeader, AllowFormulas: true}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := appendCSV(t, tt.csv, awkwardRecords...)
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("stream differs from %s:\ngot:\n%q\nwant:\n%q", path, got, want)
			}

			// The golden file is valid CSV holding the records, as far as
			// encoding/csv can tell (see expectCSV).
			r := csv.NewReader(bytes.NewReader(want))
			r.FieldsPerRecord = -1
			read, err := r.ReadAll()
			if err != nil {
				t.Fatalf("reading %s: %v", path, err)
			}
			wantRead := expectCSV(append([][]string{awkwardHeader}, awkwardRecords...), tt.csv)
			if !slices.EqualFunc(read, wantRead, slices.Equal) {
				t.Errorf("%s reads back as\n%q\nwant\n%q", path, read, wantRead)
			}
		})
	}
}

// BenchmarkCSVAppend appends records like the demo's users (an id, a name
// and an email, two of three of them quoted for a comma or double quotes)
// to a batch.
//
//	go test -run '^$' -bench CSVAppend -count 6 ./sink
func BenchmarkCSVAppend(b *testing.B) {
	records := [][]string{
		{"1000", "O'Brien, José", `"o'brien, josé 1000"@example.org`},
		{"1001", `Ada "Ace" Müller`, `"ada \"ace\" müller 1001"@exämple.net`},
		{"1002", "Zoë Lovelace", "zoë.lovelace.1002@example.com"},
		{"1003", `Smith, Grace "Doc"`, `"smith, grace 1003"@example.org`},
	}
	var size int
	for _, r := range records {
		size += len(appendCSV(b, sink.CSV{}, r))
	}
	b.SetBytes(int64(size))
	dst := make([]byte, 0, 64<<10)
	for b.Loop() {
		dst = dst[:0]
		for _, r := range records {
			dst, _ = sink.CSV{}.Append(dst, r)
		}
	}
}
