package generator

import (
	"context"
	"time"
)

// DefaultPollInterval is how often [Follow] looks for new lines, a rotation
// or a truncation when FollowOptions.PollInterval is zero.
const DefaultPollInterval = 50 * time.Millisecond

// FollowOptions configure [Follow]. The zero value follows the lines
// written from now on, with the defaults.
type FollowOptions struct {
	// Lines is how many of the file's last complete lines to yield
	// first. Zero means none: only the lines written from now on.
	Lines int

	// MaxLine is the longest line, in bytes without its line ending,
	// that is yielded whole; a longer one is cut (see Follow). Zero
	// means DefaultMaxLine.
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
//	follow := generator.Follow("/var/log/app.log", generator.FollowOptions{Lines: 10})
//	sink.Stream(c, sink.Lines[string]{}, follow) // tail -F over HTTP
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
//
// Following costs one open file and a 32 KiB read buffer, plus the
// incomplete line (at most MaxLine+1 bytes), for as long as the producer
// runs.
func Follow(path string, opts FollowOptions) Func[string] {
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
