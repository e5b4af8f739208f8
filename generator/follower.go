package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"unicode/utf8"
)

// Sizes of Follow's buffers.
const (
	readBlock = 32 << 10 // one read, forwards or backwards
	recentLen = 16       // bytes kept to notice a file rewritten under Follow
)

// follower is the state of one Follow producer: the file it reads, where
// it has read up to and the line it is putting together. How it notices
// that the file changed under it is in followpoll.go.
type follower struct {
	path    string
	fsys    fileSystem
	maxLine int

	file logFile     // the file followed
	info fs.FileInfo // file's, to tell whether path still names it
	off  int64       // where the next read starts

	buf    []byte // read buffer
	recent []byte // the last bytes read before off, at most recentLen
	check  []byte // room to read them again

	line    []byte // the incomplete line: its first maxLine+1 bytes
	lineLen int64  // the incomplete line's length so far
	cr      bool   // its last byte is '\r'
	skip    bool   // it is too long and was not read from its start: drop it
}

// openFollower opens the file at path and places the read position at the
// start of its last opts.Lines complete lines.
func openFollower(path string, opts FollowOptions) (*follower, error) {
	f := &follower{
		path:    path,
		fsys:    opts.fsys,
		maxLine: opts.MaxLine,
		buf:     make([]byte, readBlock),
		recent:  make([]byte, 0, recentLen),
		check:   make([]byte, recentLen),
	}
	if f.fsys == nil {
		f.fsys = osFS{}
	}
	if f.maxLine <= 0 {
		f.maxLine = DefaultMaxLine
	}
	file, err := f.fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("generator: follow: %w", err)
	}
	f.file = file
	if f.info, err = file.Stat(); err != nil {
		f.close()
		return nil, fmt.Errorf("generator: follow: %w", err)
	}
	start, skip, err := f.historyStart(f.info.Size(), max(opts.Lines, 0))
	if err != nil {
		f.close()
		return nil, fmt.Errorf("generator: follow %s: %w", path, err)
	}
	f.off, f.skip = start, skip
	if err := f.rememberBefore(start); err != nil {
		f.close()
		return nil, fmt.Errorf("generator: follow %s: %w", path, err)
	}
	return f, nil
}

// close closes the file followed.
func (f *follower) close() { _ = f.file.Close() }

// historyStart returns where the last n complete lines of the file's first
// size bytes begin, reading backwards in blocks: just after the (n+1)-th
// "\n" from the end, or 0. It stops at a line longer than maxLine (plus a
// '\r'), whose start it does not look for: the history then begins after
// that line or, if it is the incomplete last line, at size with skip set,
// so that the rest of that line is dropped.
func (f *follower) historyStart(size int64, n int) (start int64, skip bool, err error) {
	longest := int64(f.maxLine) + 1 // a line and its '\r'
	need := n + 1                   // line feeds to find
	lineEnd := size                 // the end of the line being scanned: its "\n", or size
	after := func() (int64, bool, error) {
		if lineEnd == size {
			return size, true, nil
		}
		return lineEnd + 1, false, nil
	}
	for pos := size; pos > 0; {
		k := min(int64(len(f.buf)), pos)
		pos -= k
		block := f.buf[:k]
		if _, err := f.file.ReadAt(block, pos); errors.Is(err, io.EOF) {
			return 0, false, nil // truncated meanwhile: start at the beginning
		} else if err != nil {
			return 0, false, err
		}
		for i := len(block) - 1; i >= 0; i-- {
			if block[i] != '\n' {
				continue
			}
			nl := pos + int64(i)
			if lineEnd-nl-1 > longest {
				return after()
			}
			if need--; need == 0 {
				return nl + 1, false, nil
			}
			lineEnd = nl
		}
		if lineEnd-pos > longest {
			return after()
		}
	}
	return 0, false, nil
}

// readNew reads the file from the read position to its end, yielding each
// complete line.
func (f *follower) readNew(yield func(string) error) error {
	for {
		n, err := f.file.ReadAt(f.buf, f.off)
		if n > 0 {
			f.off += int64(n)
			f.remember(f.buf[:n])
			if err := f.split(f.buf[:n], yield); err != nil {
				return err
			}
		}
		switch {
		case errors.Is(err, io.EOF), err == nil && n == 0:
			return nil
		case err != nil:
			return fmt.Errorf("generator: follow %s: %w", f.path, err)
		}
	}
}

// split yields the lines that p completes and keeps the rest of it.
func (f *follower) split(p []byte, yield func(string) error) error {
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.hold(p)
			return nil
		}
		f.hold(p[:i])
		p = p[i+1:]
		if f.skip {
			f.skip = false
			f.resetLine()
			continue
		}
		if err := yield(f.takeLine()); err != nil {
			return err
		}
	}
}

// hold adds p to the incomplete line, keeping at most maxLine+1 bytes.
func (f *follower) hold(p []byte) {
	if len(p) == 0 {
		return
	}
	if room := f.maxLine + 1 - len(f.line); room > 0 && !f.skip {
		f.line = append(f.line, p[:min(room, len(p))]...)
	}
	f.lineLen += int64(len(p))
	f.cr = p[len(p)-1] == '\r'
}

// takeLine returns the line held, without its '\r', cut if it is too long,
// and starts a new one.
func (f *follower) takeLine() string {
	defer f.resetLine()
	n := f.lineLen
	if f.cr {
		n--
	}
	if n <= int64(f.maxLine) {
		return string(f.line[:n])
	}
	// Cut before a character that would be split; f.line holds maxLine+1
	// bytes, so f.line[k] is the first byte left out.
	k := f.maxLine
	for i := 0; i < utf8.UTFMax-1 && k > 0 && !utf8.RuneStart(f.line[k]); i++ {
		k--
	}
	if !utf8.RuneStart(f.line[k]) {
		k = f.maxLine // not UTF-8 anyway
	}
	return string(f.line[:k]) + " [… " + strconv.FormatInt(n-int64(k), 10) + " bytes cut]"
}

// resetLine forgets the line held.
func (f *follower) resetLine() {
	f.line, f.lineLen, f.cr = f.line[:0], 0, false
}
