package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// What a follower notices once it has read everything: a truncation or a
// rewrite, which restarts the file, and a rotation or a deletion of path.

// poll runs once everything was read and the poll interval has passed: it
// notices a truncation, which restarts the file from its beginning, and a
// rotation, which finishes the old file and switches to the new one.
func (f *follower) poll(yield func(string) error) error {
	info, err := f.file.Stat()
	if err != nil {
		return fmt.Errorf("generator: follow %s: %w", f.path, err)
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
		return fmt.Errorf("generator: follow: %w", err)
	case os.SameFile(now, f.info):
		return nil
	}
	next, err := f.fsys.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // gone again: next time
	} else if err != nil {
		return fmt.Errorf("generator: follow: %w", err)
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

// rewritten reports whether the bytes before the read position are no
// longer those read there: the file was truncated and written again.
func (f *follower) rewritten() (bool, error) {
	if len(f.recent) == 0 {
		return false, nil
	}
	b := f.check[:len(f.recent)]
	n, err := f.file.ReadAt(b, f.off-int64(len(b)))
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("generator: follow %s: %w", f.path, err)
	}
	return !bytes.Equal(b[:n], f.recent), nil
}

// restart follows the file again from its beginning, dropping the
// incomplete line.
func (f *follower) restart() {
	f.off, f.recent, f.skip = 0, f.recent[:0], false
	f.resetLine()
}
