package generator

// The follower's reading of lines, against a plain model of the documented
// rules: the first lines found backwards, partial lines, long lines.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// memFile is a logFile in memory, whose content a test can append to.
type memFile struct{ data []byte }

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) Close() error { return nil }

func (m *memFile) Stat() (fs.FileInfo, error) { return nil, errors.ErrUnsupported }

// referenceLine is what Follow yields for a line (without its "\n"),
// written plainly from the documented rule.
func referenceLine(line []byte, maxLine int) string {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) <= maxLine {
		return string(line)
	}
	k := maxLine
	for k > 0 && k > maxLine-3 && !utf8.RuneStart(line[k]) {
		k--
	}
	if !utf8.RuneStart(line[k]) {
		k = maxLine
	}
	return fmt.Sprintf("%s [… %d bytes cut]", line[:k], len(line)-k)
}

// referenceFollow is what Follow yields for a file holding data, asked for
// its last n lines, once more has been appended: the history (the last n
// complete lines, stopping at one longer than maxLine plus a '\r'; none if
// the incomplete last line is that long, which is then skipped), then the
// lines completed by the appended bytes.
func referenceFollow(data, more []byte, n, maxLine int) []string {
	longest := maxLine + 1
	complete := bytes.Split(data, []byte("\n"))
	partial := complete[len(complete)-1]
	complete = complete[:len(complete)-1]
	var out []string
	skip := len(partial) > longest
	if !skip {
		first := len(complete)
		for first > 0 && len(complete)-first < n && len(complete[first-1]) <= longest {
			first--
		}
		for _, line := range complete[first:] {
			out = append(out, referenceLine(line, maxLine))
		}
	}
	next := bytes.Split(append(slices.Clip(partial), more...), []byte("\n"))
	for i, line := range next[:len(next)-1] {
		if i == 0 && skip {
			continue
		}
		out = append(out, referenceLine(line, maxLine))
	}
	return out
}

// FuzzFollowLines: whatever the file's content, the read block size and
// the way appended bytes arrive, Follow's history and the lines it yields
// are those of the reference model: never a line twice, never part of a
// line, a line cut only as documented.
func FuzzFollowLines(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("d\ne"), uint8(2), uint8(16), uint8(4), uint8(1))
	f.Add([]byte("a\r\nb\r\nc"), []byte("\r\nd\r\n"), uint8(5), uint8(16), uint8(1), uint8(3))
	f.Add([]byte("short\n"+strings.Repeat("x", 40)+"\nb\n"), []byte("y\n"), uint8(7), uint8(8), uint8(5), uint8(2))
	f.Add([]byte("a\n"+strings.Repeat("é", 20)), []byte("\nnext\n"), uint8(3), uint8(9), uint8(7), uint8(4))
	f.Add([]byte(""), []byte("\n\n\nx\n"), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add([]byte(strings.Repeat("z", 100)), []byte("\r\n"), uint8(1), uint8(31), uint8(63), uint8(15))
	f.Fuzz(func(t *testing.T, data, more []byte, n, maxLine, block, chunk uint8) {
		lines, maxLen := int(n%8), 1+int(maxLine%32)
		file := &memFile{data: slices.Clone(data)}
		fl := &follower{
			maxLine: maxLen,
			file:    file,
			buf:     make([]byte, 1+int(block%64)),
			recent:  make([]byte, 0, recentLen),
			check:   make([]byte, recentLen),
		}
		var got []string
		yield := func(line string) error {
			got = append(got, line)
			return nil
		}
		start, skip, err := fl.historyStart(int64(len(data)), lines)
		if err != nil {
			t.Fatal(err)
		}
		fl.off, fl.skip = start, skip
		if err := fl.readNew(yield); err != nil {
			t.Fatal(err)
		}
		for rest, size := more, 1+int(chunk%16); len(rest) > 0; {
			k := min(size, len(rest))
			file.data = append(file.data, rest[:k]...)
			rest = rest[k:]
			if err := fl.readNew(yield); err != nil {
				t.Fatal(err)
			}
		}
		if want := referenceFollow(data, more, lines, maxLen); !slices.Equal(got, want) {
			t.Fatalf("file %q, then %q, last %d lines, MaxLine %d:\ngot  %q\nwant %q", data, more, lines, maxLen, got, want)
		}
	})
}
