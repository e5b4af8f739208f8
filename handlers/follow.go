package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ginstream/ginstream/generator"
)

// Defaults for [Follow] and [Tail].
const (
	// DefaultTailLines is how many lines [Tail] starts with when the
	// request has no ?lines= parameter.
	DefaultTailLines = 10
	// MaxTailLines is the most lines ?lines= may ask [Tail] for.
	MaxTailLines = 10_000
	// DefaultPollInterval is how often [Follow] looks for new lines, a
	// rotation or a truncation when FollowOptions.PollInterval is zero.
	DefaultPollInterval = 50 * time.Millisecond
)

// FollowOptions configure [Follow]. The zero value follows the lines
// written from now on, with the defaults.
type FollowOptions struct {
	// Lines is how many of the file's last complete lines to yield
	// first. Zero means none: only the lines written from now on.
	Lines int

	// MaxLine is the longest line, in bytes without its line ending,
	// that is yielded whole; a longer one is cut (see Follow). Zero
	// means generator.DefaultMaxLine.
	MaxLine int

	// PollInterval is how often Follow looks for new lines, a rotation
	// or a truncation once it has read everything. Zero means
	// DefaultPollInterval.
	PollInterval time.Duration

	fsys fileSystem // nil means the operating system's; tests observe reads through it
}

// Follow returns a producer that follows the file at path like tail -F:
// it yields the file's last opts.Lines complete lines, then every line
// appended to it, each without its line ending ("\n" or "\r\n"), until the
// stream ends. It returns only when yield or its context says the stream
// is over, or on an error.
//
// Follow never reads a file whole: it finds the last lines by reading
// backwards from the end, in blocks, and then reads only what is
// appended, looking for more every PollInterval. The file stays open while
// it is followed and is closed when the producer returns.
//
//   - Partial lines: a line is yielded once its "\n" has been written; the
//     bytes after the last "\n" wait for the rest of their line.
//   - Rotation: when path names another file (the followed one was renamed
//     and a new one created, as logrotate does), Follow reads the rest of
//     the old file, yielding its last line even without a "\n" since
//     nothing will complete it now, then follows the new file from its
//     start. A file created and rotated away again between two polls is
//     missed, and so is what is written to the old file after Follow has
//     moved on; loggers reopen their file when told of the rotation.
//   - Deletion: while path names no file, Follow keeps reading the file it
//     has open (a writer may still hold it) and waits for path to appear
//     again, then follows the new file from its start. It does not end.
//   - Truncation: when the file shrinks below the position Follow has
//     read up to, or the bytes just before that position change (the file
//     was truncated and written past it again), Follow starts again at the
//     file's beginning; an incomplete line from before is dropped.
//   - Long lines: a line longer than MaxLine bytes is cut, so that memory
//     stays bounded and the stream goes on. Follow yields its first
//     MaxLine bytes (fewer if that would split a UTF-8 character) followed
//     by " [… N bytes cut]", N being the number of bytes left out. Looking
//     backwards for the first lines, Follow stops at a line that long: the
//     first lines are then those after it, and if it is the line still
//     being written, it is skipped.
//
// A file missing when Follow starts is an error matching fs.ErrNotExist,
// which a sink answers with 404; other errors opening, reading or
// inspecting the file end the producer with that error.
func Follow(path string, opts FollowOptions) generator.Func[string] {
	interval := opts.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	return func(ctx context.Context, yield func(string) error) error {
		f, err := openFollower(path, opts)
		if err != nil {
			return err
		}
		defer f.close()
		// The first lines, and whatever else is there by now.
		if err := f.readNew(yield); err != nil {
			return err
		}
		timer := time.NewTimer(interval)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-timer.C:
			}
			if err := f.poll(yield); err != nil {
				return err
			}
			if err := f.readNew(yield); err != nil {
				return err
			}
			timer.Reset(interval)
		}
	}
}

// Sizes of Follow's buffers.
const (
	readBlock = 32 << 10 // one read, forwards or backwards
	recentLen = 16       // bytes kept to notice a file rewritten under Follow
)

// follower is the state of one Follow producer.
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
		f.maxLine = generator.DefaultMaxLine
	}
	file, err := f.fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("handlers: follow: %w", err)
	}
	f.file = file
	if f.info, err = file.Stat(); err != nil {
		f.close()
		return nil, fmt.Errorf("handlers: follow: %w", err)
	}
	start, skip, err := f.historyStart(f.info.Size(), max(opts.Lines, 0))
	if err != nil {
		f.close()
		return nil, fmt.Errorf("handlers: follow %s: %w", path, err)
	}
	f.off, f.skip = start, skip
	if err := f.rememberBefore(start); err != nil {
		f.close()
		return nil, fmt.Errorf("handlers: follow %s: %w", path, err)
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

// rememberBefore reads the bytes just before off into recent.
func (f *follower) rememberBefore(off int64) error {
	n := min(int64(recentLen), off)
	if n == 0 {
		return nil
	}
	b := f.check[:n]
	if _, err := f.file.ReadAt(b, off-n); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	f.remember(b)
	return nil
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
			return fmt.Errorf("handlers: follow %s: %w", f.path, err)
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

// remember keeps the last recentLen bytes read, those ending at off.
func (f *follower) remember(p []byte) {
	if len(p) >= recentLen {
		f.recent = append(f.recent[:0], p[len(p)-recentLen:]...)
		return
	}
	if drop := len(f.recent) + len(p) - recentLen; drop > 0 {
		f.recent = f.recent[:copy(f.recent, f.recent[drop:])]
	}
	f.recent = append(f.recent, p...)
}

// poll runs once everything was read and the poll interval has passed: it
// notices a truncation, which restarts the file from its beginning, and a
// rotation, which finishes the old file and switches to the new one.
func (f *follower) poll(yield func(string) error) error {
	info, err := f.file.Stat()
	if err != nil {
		return fmt.Errorf("handlers: follow %s: %w", f.path, err)
	}
	if info.Size() < f.off {
		f.restart()
	} else if info.Size() > f.off {
		if rewritten, err := f.rewritten(); err != nil {
			return err
		} else if rewritten {
			f.restart()
		}
	}

	now, err := f.fsys.Stat(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // deleted, or renamed and not recreated yet: wait
	case err != nil:
		return fmt.Errorf("handlers: follow: %w", err)
	case os.SameFile(now, f.info):
		return nil
	}
	next, err := f.fsys.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // gone again: next time
	} else if err != nil {
		return fmt.Errorf("handlers: follow: %w", err)
	}
	nextInfo, err := next.Stat()
	if err == nil {
		err = f.finish(yield)
	}
	if err != nil {
		_ = next.Close()
		return err
	}
	f.close()
	f.file, f.info = next, nextInfo
	f.off, f.recent, f.skip = 0, f.recent[:0], false
	return nil
}

// finish reads the rest of a file that was rotated away and yields its
// last line, complete or not.
func (f *follower) finish(yield func(string) error) error {
	if err := f.readNew(yield); err != nil {
		return err
	}
	if f.lineLen == 0 || f.skip {
		f.resetLine()
		return nil
	}
	return yield(f.takeLine())
}

// rewritten reports whether the bytes before the read position are no
// longer those read there: the file was truncated and written again.
func (f *follower) rewritten() (bool, error) {
	if len(f.recent) == 0 {
		return false, nil
	}
	b := f.check[:len(f.recent)]
	n, err := f.file.ReadAt(b, f.off-int64(len(b)))
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("handlers: follow %s: %w", f.path, err)
	}
	return !bytes.Equal(b[:n], f.recent), nil
}

// restart follows the file again from its beginning, dropping the
// incomplete line.
func (f *follower) restart() {
	f.off, f.recent, f.skip = 0, f.recent[:0], false
	f.resetLine()
}

// logFile is what Follow needs of an open file; *os.File implements it.
type logFile interface {
	io.ReaderAt
	io.Closer
	Stat() (fs.FileInfo, error)
}

// fileSystem opens and inspects files for Follow. Rotation is detected
// with os.SameFile, so Stat and logFile.Stat must return the operating
// system's file information.
type fileSystem interface {
	Open(name string) (logFile, error)
	Stat(name string) (fs.FileInfo, error)
}

// osFS is the operating system's file system.
type osFS struct{}

func (osFS) Open(name string) (logFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err // not a nil *os.File in an interface
	}
	return f, nil
}

func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }
