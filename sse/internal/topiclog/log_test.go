package topiclog

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

var (
	errSlow   = errors.New("slow")
	errClosed = errors.New("closed")
)

// testConfig returns a configuration whose items are strings: an appended
// item is its id, in decimal; Reset and Missed make "reset:reason@newest"
// and "missed:n".
func testConfig(limit, buffer int, disconnect bool) Config[string] {
	return Config[string]{
		Limit:      limit,
		MaxAge:     time.Minute,
		Buffer:     buffer,
		Disconnect: disconnect,
		Slow:       errSlow,
		Reset:      func(reason string, newest uint64) string { return fmt.Sprintf("reset:%s@%d", reason, newest) },
		Missed:     func(n uint64) string { return fmt.Sprint("missed:", n) },
	}
}

// appendIDs appends the items numbered from to to, appended now.
func appendIDs(l *Log[string], from, to uint64) {
	for id := from; id <= to; id++ {
		l.Append(id, strconv.FormatUint(id, 10), time.Now())
	}
}

// ids returns the items numbered from to to.
func ids(from, to uint64) []string {
	var out []string
	for id := from; id <= to; id++ {
		out = append(out, strconv.FormatUint(id, 10))
	}
	return out
}

// kept returns the items that l keeps, oldest first.
func kept(l *Log[string]) []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.ring.appendRange(nil, l.ring.oldest())
}

// TestLogLimit: a log keeps its newest Limit items, in order, in a ring
// that grows as needed and never beyond Limit.
func TestLogLimit(t *testing.T) {
	for _, tt := range []struct{ limit, items int }{
		{1, 0}, {1, 1}, {1, 5}, {3, 2}, {3, 3}, {3, 10}, {16, 16}, {17, 40}, {100, 60}, {100, 250},
	} {
		t.Run(fmt.Sprintf("limit %d, %d items", tt.limit, tt.items), func(t *testing.T) {
			l := New(testConfig(tt.limit, tt.limit, true), 101)
			appendIDs(l, 101, 100+uint64(tt.items))
			head := 100 + uint64(tt.items)
			oldest := head - uint64(min(tt.items, tt.limit)) + 1
			if got := l.Kept(); got != (Range{oldest, head}) {
				t.Errorf("Kept() = %+v; want %d … %d", got, oldest, head)
			}
			if l.Head() != head {
				t.Errorf("Head() = %d, want %d", l.Head(), head)
			}
			if got, want := kept(l), ids(oldest, head); !slices.Equal(got, want) {
				t.Errorf("kept %q, want %q", got, want)
			}
			if n := len(l.ring.entries); n > tt.limit {
				t.Errorf("the ring has room for %d items, more than the limit %d", n, tt.limit)
			}
		})
	}
}

// TestLogMaxAge: an Append forgets the items older than MaxAge; a log
// whose items have all expired is stale.
func TestLogMaxAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(testConfig(10, 10, true), 1)
		if !l.Stale() {
			t.Error("an empty log is not stale")
		}
		appendIDs(l, 1, 2) // t = 0
		time.Sleep(30 * time.Second)
		appendIDs(l, 3, 3) // t = 30 s
		time.Sleep(30 * time.Second)
		appendIDs(l, 4, 4) // t = 60 s: 1 and 2 are exactly MaxAge old
		if got, want := kept(l), ids(1, 4); !slices.Equal(got, want) {
			t.Errorf("at MaxAge: kept %q, want %q", got, want)
		}
		time.Sleep(time.Second)
		appendIDs(l, 5, 5) // t = 61 s
		if got, want := kept(l), ids(3, 5); !slices.Equal(got, want) {
			t.Errorf("after MaxAge: kept %q, want %q", got, want)
		}
		if l.Stale() {
			t.Error("a log with young items is stale")
		}
		time.Sleep(61 * time.Second)
		if !l.Stale() {
			t.Error("a log whose items have all expired is not stale")
		}
		if got, want := kept(l), ids(3, 5); !slices.Equal(got, want) {
			t.Errorf("without an Append, kept %q, want %q: expired items are forgotten by the next Append", got, want)
		}
	})
}

// TestLogGap: an item whose id does not follow the newest empties the log.
func TestLogGap(t *testing.T) {
	l := New(testConfig(10, 10, true), 1)
	appendIDs(l, 1, 3)
	appendIDs(l, 7, 8)
	if got, want := kept(l), ids(7, 8); !slices.Equal(got, want) {
		t.Errorf("kept %q, want %q", got, want)
	}
	if got := l.Kept(); got != (Range{7, 8}) {
		t.Errorf("Kept() = %+v; want 7 … 8", got)
	}
}

// TestLogClose: the first Close's error is the one deliveries end with.
func TestLogClose(t *testing.T) {
	l := New(testConfig(10, 10, true), 1)
	l.Close(errClosed)
	l.Close(errors.New("second"))
	if err := l.Deliver(t.Context(), Start[string]{Next: 1}, nil); err != errClosed {
		t.Errorf("Deliver after Close returned %v, want %v", err, errClosed)
	}
	defer func() {
		if recover() == nil {
			t.Error("Close(nil) did not panic")
		}
	}()
	l.Close(nil)
}
