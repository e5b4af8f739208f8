package generator

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// DefaultChunkSize is the size of the chunks [ReadChunks] yields when it is
// given a size of zero.
const DefaultChunkSize = 32 << 10

// ReadChunks returns a producer that yields the bytes of r in chunks of at
// most size bytes (DefaultChunkSize if size is zero or less), each as soon
// as a Read returns it: Go's fs.createReadStream. Each chunk is a new
// slice of just the bytes read, never reused, since the consumer may hold
// it after yield returns (see [Func]). An error
// from r, other than io.EOF, ends the producer with that error, after the
// bytes read before it.
//
//	f, err := os.Open(path) // closed by the handler after the stream
//	sink.Stream(c, sink.Bytes{Type: "text/csv"}, generator.ReadChunks(f, 0))
//
// A read that blocks is not interrupted by the stream's end; a reader that
// may block indefinitely (a pipe, a network connection) should be closed by
// its owner when the request ends. For files, handlers.Files also answers
// Range and conditional requests and lets the kernel copy the bytes.
func ReadChunks(r io.Reader, size int) Func[[]byte] {
	if size <= 0 {
		size = DefaultChunkSize
	}
	return func(_ context.Context, yield func([]byte) error) error {
		buf := make([]byte, size)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				// A copy of just what was read: the consumer may hold
				// it, and a short read does not pin a whole buffer.
				if yerr := yield(bytes.Clone(buf[:n])); yerr != nil {
					return yerr
				}
			}
			switch {
			case err == io.EOF:
				return nil
			case err != nil:
				return fmt.Errorf("generator: read: %w", err)
			}
		}
	}
}

// DefaultMaxLine is the longest line [ReadLines] accepts when its max is zero.
const DefaultMaxLine = 64 << 10

// ErrLineTooLong reports a line longer than the maximum given to [ReadLines].
var ErrLineTooLong = errors.New("generator: line too long")

// ReadLines returns a producer that yields the lines of r without their line
// ending ("\n" or "\r\n"). A final line without a newline is yielded too.
// A line longer than max bytes (DefaultMaxLine if max is zero) ends the
// producer with an error matching [ErrLineTooLong]: a line is never cut.
//
// A read that blocks is not interrupted by the stream's end; a reader that
// may block indefinitely (a pipe, a network connection) should be closed by
// its owner when the request ends.
func ReadLines(r io.Reader, max int) Func[string] {
	if max <= 0 {
		max = DefaultMaxLine
	}
	return func(_ context.Context, yield func(string) error) error {
		er := &errReader{r: r}
		sc := bufio.NewScanner(er)
		// The buffer must hold the line and its "\r\n".
		sc.Buffer(make([]byte, 0, min(max+2, 64<<10)), max+2)
		sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
			if atEOF && er.err != nil && bytes.IndexByte(data, '\n') < 0 {
				// The scanner says "at EOF" after any read error: the
				// rest is not a whole line, so do not yield it.
				return 0, nil, er.err
			}
			return bufio.ScanLines(data, atEOF)
		})
		n := 0
		for sc.Scan() {
			n++
			line := sc.Text()
			if len(line) > max {
				return fmt.Errorf("%w: line %d is longer than %d bytes", ErrLineTooLong, n, max)
			}
			if err := yield(line); err != nil {
				return err
			}
		}
		if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%w: line %d is longer than %d bytes", ErrLineTooLong, n+1, max)
		} else if err != nil {
			return fmt.Errorf("generator: read line %d: %w", n+1, err)
		}
		return nil
	}
}

// errReader remembers the error, other than io.EOF, that ended its reads.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
