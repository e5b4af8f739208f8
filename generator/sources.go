package generator

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"
)

// Slice returns a producer that yields the items of a slice in order.
func Slice[T any](items []T) Func[T] {
	return func(_ context.Context, yield func(T) error) error {
		for _, item := range items {
			if err := yield(item); err != nil {
				return err
			}
		}
		return nil
	}
}

// Seq returns a producer that yields the values of an iterator in order.
// The iterator stops early if the stream ends first.
func Seq[T any](seq iter.Seq[T]) Func[T] {
	return func(_ context.Context, yield func(T) error) error {
		var err error
		for v := range seq {
			if err = yield(v); err != nil {
				break
			}
		}
		return err
	}
}

// Seq2 returns a producer that yields the values of an iterator of value and
// error pairs, the form of iterators that can fail. A pair with a non-nil
// error ends the producer with that error; its value is discarded.
func Seq2[T any](seq iter.Seq2[T, error]) Func[T] {
	return func(_ context.Context, yield func(T) error) error {
		for v, err := range seq {
			if err != nil {
				return err
			}
			if err := yield(v); err != nil {
				return err
			}
		}
		return nil
	}
}

// Count returns a producer that yields the numbers 1 to n: the first at once,
// the rest one interval apart (the tutorial's "numbers every 20 ms"). An
// interval of zero or less yields them as fast as the consumer takes them.
// When the consumer falls behind, the pace slows down rather than bursting to
// catch up.
func Count(n int, interval time.Duration) Func[int] {
	return func(ctx context.Context, yield func(int) error) error {
		if interval <= 0 {
			for i := 1; i <= n; i++ {
				if err := yield(i); err != nil {
					return err
				}
			}
			return nil
		}
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for i := 1; i <= n; i++ {
			if i > 1 {
				select {
				case <-ticker.C:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			if err := yield(i); err != nil {
				return err
			}
		}
		return nil
	}
}

// DefaultMaxLine is the longest line [Lines] accepts when its max is zero.
const DefaultMaxLine = 64 << 10

// ErrLineTooLong reports a line longer than the maximum given to [Lines].
var ErrLineTooLong = errors.New("generator: line too long")

// Lines returns a producer that yields the lines of r without their line
// ending ("\n" or "\r\n"). A final line without a newline is yielded too.
// A line longer than max bytes (DefaultMaxLine if max is zero) ends the
// producer with an error matching [ErrLineTooLong]: a line is never cut.
//
// A read that blocks is not interrupted by the stream's end; a reader that
// may block indefinitely (a pipe, a network connection) should be closed by
// its owner when the request ends.
func Lines(r io.Reader, max int) Func[string] {
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

// Rows returns a producer that runs a query and yields its rows one at a
// time, as scan converts them, so that memory does not grow with the number
// of rows. query is called with the producer's context, so the query is
// cancelled when the stream ends; the rows are always closed.
//
// An error from query, scan or the cursor ends the producer with that error.
func Rows[T any](query func(ctx context.Context) (*sql.Rows, error), scan func(*sql.Rows) (T, error)) Func[T] {
	return func(ctx context.Context, yield func(T) error) (err error) {
		rows, err := query(ctx)
		if err != nil {
			return fmt.Errorf("generator: query: %w", err)
		}
		defer func() {
			if cerr := rows.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("generator: close rows: %w", cerr)
			}
		}()
		n := 0
		for rows.Next() {
			n++
			item, err := scan(rows)
			if err != nil {
				return fmt.Errorf("generator: scan row %d: %w", n, err)
			}
			if err := yield(item); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("generator: after row %d: %w", n, err)
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
