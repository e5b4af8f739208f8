package sink_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ginstream/ginstream/sink"
)

// split cuts s at every sep byte. The fuzzer chooses sep, so no byte is kept
// out of the pieces for good.
func split(s string, sep byte) []string {
	return strings.Split(s, string([]byte{sep}))
}

// plainNumber is what CSV.AllowFormulas (off) leaves alone after a leading sign:
// digits with at most one decimal point between digits.
var plainNumber = regexp.MustCompile(`^[+-][0-9]+(\.[0-9]+)?$`)

// guardCell is the test's own statement of CSV.AllowFormulas (off).
func guardCell(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '@', '\t', '\r':
		return "'" + cell
	case '+', '-':
		if !plainNumber.MatchString(cell) {
			return "'" + cell
		}
	}
	return cell
}

// isFormula reports whether a spreadsheet would run cell as a formula.
func isFormula(cell string) bool {
	return cell != "" && strings.IndexByte("=+-@\t\r", cell[0]) >= 0 && !plainNumber.MatchString(cell)
}

// expectCSV returns the records that encoding/csv reads back from records
// written by e (header first, if the caller put it there). It departs from
// the records exactly where encoding/csv's documented behaviour makes a
// perfect round trip impossible, and nowhere else:
//
//   - Reader normalises "\r\n" to "\n" everywhere, also inside quoted
//     fields, so a cell's "\r\n" reads back as "\n". (A lone "\r" in a
//     quoted field is kept.)
//   - Writer with UseCRLF writes a cell's "\n" as "\r\n" (which reads back
//     as "\n") and drops every "\r" of a cell, so with CRLF a cell reads
//     back without any "\r".
//
// A record of one empty cell is written as `""` so that it is not an empty
// line, which Reader would skip; it reads back whole. (strings.Split never
// gives a record of no cells, which Append refuses.)
func expectCSV(records [][]string, e sink.CSV) [][]string {
	var out [][]string
	for _, record := range records {
		cells := slices.Clone(record)
		for i, c := range cells {
			if !e.AllowFormulas {
				c = guardCell(c)
			}
			cells[i] = c
		}
		for i, c := range cells {
			if e.CRLF {
				cells[i] = strings.ReplaceAll(c, "\r", "")
			} else {
				cells[i] = strings.ReplaceAll(c, "\r\n", "\n")
			}
		}
		out = append(out, cells)
	}
	return out
}

// csvWriterBytes returns what encoding/csv's Writer writes for record,
// with the cells that e guards guarded, or nil for a record of one empty
// cell, which the Writer writes as an empty line and CSV as `""`.
func csvWriterBytes(record []string, e sink.CSV) []byte {
	if len(record) == 1 && record[0] == "" {
		return nil
	}
	cells := slices.Clone(record)
	if !e.AllowFormulas {
		for i, c := range cells {
			cells[i] = guardCell(c)
		}
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.UseCRLF = e.CRLF
	w.Write(cells) // a bytes.Buffer does not fail
	w.Flush()
	return b.Bytes()
}

// FuzzCSVRoundTrip checks that any records written by CSV, with or without
// CRLF and AllowFormulas, parse back with encoding/csv to the same records
// (up to the limits of encoding/csv stated at expectCSV), that the guard
// prefixes exactly the cells it promises to, that no parsed cell of a
// guarded stream starts a formula, that each record's bytes are those of
// encoding/csv's Writer, and that the caller's records are never changed.
//
// The records come from s: cut into records at recordSep, and each record
// into cells at cellSep (if the two are equal, every record has one cell).
func FuzzCSVRoundTrip(f *testing.F) {
	f.Add("a,b;c,d", byte(','), byte(';'), false, false)
	f.Add("one\ntwo|x;\"quoted\"|say \"hi\"", byte('|'), byte(';'), false, false)
	f.Add("crlf\r\ninside|lone\rcr|\r| lead|trail ", byte('|'), byte(';'), true, false)
	f.Add("=1+1|-42|+1.5|-1.|@x|\t=1|\r=1|-|+", byte('|'), byte(';'), false, true)
	f.Add("=1+1|-42;\r\n=x|'=y", byte('|'), byte(';'), true, true)
	f.Add(";|;|x;", byte('|'), byte(';'), false, false)
	f.Add("\\.|\xff\xfe|ü", byte('|'), byte(';'), false, false)
	f.Fuzz(func(t *testing.T, s string, cellSep, recordSep byte, crlf, guard bool) {
		var records [][]string
		for _, r := range split(s, recordSep) {
			records = append(records, split(r, cellSep))
		}
		original := make([][]string, len(records))
		for i, r := range records {
			original[i] = slices.Clone(r)
		}

		e := sink.CSV{CRLF: crlf, AllowFormulas: !guard}
		var out []byte
		for _, r := range records {
			start := len(out)
			var err error
			if out, err = e.Append(out, r); err != nil {
				t.Fatalf("Append(%q): %v", r, err)
			}
			if want := csvWriterBytes(r, e); want != nil && string(out[start:]) != string(want) {
				t.Fatalf("Append(%q) = %q; encoding/csv writes %q", r, out[start:], want)
			}
		}
		if !slices.EqualFunc(records, original, slices.Equal) {
			t.Fatalf("Append changed the records from %q to %q", original, records)
		}

		r := csv.NewReader(bytes.NewReader(out))
		r.FieldsPerRecord = -1 // records may differ in length
		got, err := r.ReadAll()
		if err != nil {
			t.Fatalf("reading back %q: %v", out, err)
		}
		if want := expectCSV(records, e); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%q\nreads back as %q\nwant          %q", out, got, want)
		}
		if guard {
			for _, record := range got {
				for _, cell := range record {
					if isFormula(cell) {
						t.Errorf("guarded cell %q starts a formula", cell)
					}
				}
			}
		}
	})
}

// textItem goes through the fallback path of Lines (fmt.Stringer).
type textItem string

func (s textItem) String() string { return string(s) }

// appenderItem goes through the encoding.TextAppender path of Lines.
type appenderItem string

func (s appenderItem) AppendText(b []byte) ([]byte, error) { return append(b, s...), nil }

// FuzzLinesFraming checks that Lines frames any items without a line feed
// so that splitting the body on "\n" gives back exactly the items, and
// rejects every item with one, leaving the body as it was. The items are s
// cut at sep; each is encoded as a string, as []byte, through a Stringer
// and through a TextAppender.
func FuzzLinesFraming(f *testing.F) {
	f.Add("a|b|c", byte('|'))
	f.Add("||", byte('|'))
	f.Add("", byte('|'))
	f.Add("one\ntwo|three", byte('|'))
	f.Add("cr\r|crlf\r\n|\n", byte('|'))
	f.Add("\xff\x00|ü\u2028", byte('|'))
	f.Fuzz(func(t *testing.T, s string, sep byte) {
		items := split(s, sep)
		encoders := []struct {
			name   string
			encode func(dst []byte, item string) ([]byte, error)
		}{
			{"string", sink.Lines[string]{}.Append},
			{"bytes", func(dst []byte, item string) ([]byte, error) {
				return sink.Lines[[]byte]{}.Append(dst, []byte(item))
			}},
			{"Stringer", func(dst []byte, item string) ([]byte, error) {
				return sink.Lines[textItem]{}.Append(dst, textItem(item))
			}},
			{"TextAppender", func(dst []byte, item string) ([]byte, error) {
				return sink.Lines[appenderItem]{}.Append(dst, appenderItem(item))
			}},
		}
		for _, enc := range encoders {
			var out []byte
			var accepted []string
			for _, item := range items {
				before := string(out)
				next, err := enc.encode(out, item)
				if strings.Contains(item, "\n") {
					if !errors.Is(err, sink.ErrLineBreak) {
						t.Fatalf("%s: Append(%q) error = %v, want ErrLineBreak", enc.name, item, err)
					}
					if string(next) != before {
						t.Fatalf("%s: rejected Append(%q) changed the body to %q", enc.name, item, next)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: Append(%q): %v", enc.name, item, err)
				}
				out = next
				accepted = append(accepted, item)
			}
			var lines []string
			if len(out) > 0 {
				body, ok := strings.CutSuffix(string(out), "\n")
				if !ok {
					t.Fatalf("%s: body %q does not end in a line feed", enc.name, out)
				}
				lines = strings.Split(body, "\n")
			}
			if !slices.Equal(lines, accepted) {
				t.Fatalf("%s: body %q splits into %q, want %q", enc.name, out, lines, accepted)
			}
		}
	})
}

// validJSON is s as encoding/json writes it: every byte that is not part of
// valid UTF-8 becomes U+FFFD, as in a conversion to []rune.
func validJSON(s string) string { return string([]rune(s)) }

// FuzzNDJSONFraming checks that NDJSON writes exactly one line per item,
// with no control character or JavaScript line terminator inside a line,
// and that each line decodes with encoding/json to the item (with invalid
// UTF-8 replaced, as encoding/json documents). The items are the strings of
// s cut at sep, a map of consecutive pairs of them and one map per string.
func FuzzNDJSONFraming(f *testing.F) {
	f.Add("a|b|c", byte('|'))
	f.Add("", byte('|'))
	f.Add("line\nbreak|\r\n|\u2028\u2029|<script>&amp;", byte('|'))
	f.Add("\xff|\xed\xa0\x80|\xe2\x82|\x00\x1f\x7f", byte('|'))
	f.Add("\xff|a|\xfe|b", byte('|'))
	f.Add(`"quoted"|\back\slash|{"json":1}`, byte('|'))
	f.Fuzz(func(t *testing.T, s string, sep byte) {
		strs := split(s, sep)
		pairs := map[string]string{}
		for i := 0; i+1 < len(strs); i += 2 {
			pairs[strs[i]] = strs[i+1]
		}
		maps := []map[string]string{pairs}
		for _, str := range strs {
			maps = append(maps, map[string]string{str: str})
		}

		var out []byte
		for _, str := range strs {
			var err error
			if out, err = (sink.NDJSON[string]{}).Append(out, str); err != nil {
				t.Fatalf("Append(%q): %v", str, err)
			}
		}
		for _, m := range maps {
			var err error
			if out, err = (sink.NDJSON[map[string]string]{}).Append(out, m); err != nil {
				t.Fatalf("Append(%q): %v", m, err)
			}
		}

		body, ok := strings.CutSuffix(string(out), "\n")
		if !ok {
			t.Fatalf("body %q does not end in a line feed", out)
		}
		lines := strings.Split(body, "\n")
		if len(lines) != len(strs)+len(maps) {
			t.Fatalf("%d items make %d lines: %q", len(strs)+len(maps), len(lines), out)
		}
		for i, l := range lines {
			if strings.ContainsFunc(l, func(r rune) bool { return r < ' ' || r == '\u2028' || r == '\u2029' }) {
				t.Errorf("line %d = %q holds a raw control character or line terminator", i, l)
			}
		}
		for i, str := range strs {
			var got string
			if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
				t.Fatalf("line %d = %q: %v", i, lines[i], err)
			}
			if want := validJSON(str); got != want {
				t.Errorf("line %d = %q decodes to %q, want %q", i, lines[i], got, want)
			}
		}
		for j, m := range maps {
			l := lines[len(strs)+j]
			var got map[string]string
			if err := json.Unmarshal([]byte(l), &got); err != nil {
				t.Fatalf("line %d = %q: %v", len(strs)+j, l, err)
			}
			// Distinct keys with invalid UTF-8 may become the same key, and
			// the line then repeats it; the decoded value is one of those.
			candidates := map[string][]string{}
			for k, v := range m {
				candidates[validJSON(k)] = append(candidates[validJSON(k)], validJSON(v))
			}
			if len(got) != len(candidates) {
				t.Errorf("line %q decodes to %q, want the keys of %q", l, got, m)
			}
			for k, v := range got {
				if !slices.Contains(candidates[k], v) {
					t.Errorf("line %q decodes to %q: %q: %q is not from %q", l, got, k, v, m)
				}
			}
		}
	})
}
