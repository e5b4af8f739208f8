package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
)

// flushRecorder is a response writer that keeps what was written and, at
// each flush, what a client has received by then and when.
type flushRecorder struct {
	mu      sync.Mutex
	header  http.Header
	body    strings.Builder
	flushed string    // the body as of the last flush
	at      time.Time // the time of the last flush that sent new bytes
}

func (r *flushRecorder) Header() http.Header { return r.header }
func (r *flushRecorder) WriteHeader(int)     {}

func (r *flushRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.Write(p)
}

func (r *flushRecorder) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.body.Len() > len(r.flushed) {
		r.flushed, r.at = r.body.String(), time.Now()
	}
}

// newRecorded returns a gin context for a GET request whose response goes
// to a new flushRecorder.
func newRecorded() (*flushRecorder, *gin.Context) {
	gin.SetMode(gin.ReleaseMode)
	rec := &flushRecorder{header: http.Header{}}
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
	return rec, c
}

// state returns what was written, what was flushed, and when.
func (r *flushRecorder) state() (written, flushed string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.String(), r.flushed, r.at
}

// TestBufferedFlushes: a lone producer's items are written at once after a
// quiet spell, held back for at most flushDelay in a burst, written
// without waiting when they fill a batch, and flushed when the producer
// returns. The clock is synctest's, so the times are exact.
func TestBufferedFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec, c := newRecorded()
		w := Writer[string]{Encoder: Lines[string]{}, BatchBytes: 16}
		expect := func(step, wantWritten, wantFlushed string, wantAt time.Time) {
			t.Helper()
			written, flushed, at := rec.state()
			if written != wantWritten || flushed != wantFlushed || !at.Equal(wantAt) {
				t.Errorf("%s: written %q, flushed %q at %v; want %q, %q at %v",
					step, written, flushed, at, wantWritten, wantFlushed, wantAt)
			}
		}
		report := w.Stream(c, func(_ context.Context, yield func(string) error) error {
			start := time.Now()
			yield("a") // first of the stream: at once
			expect("first item", "a\n", "a\n", start)

			yield("b") // a burst: held back
			yield("c")
			time.Sleep(flushDelay / 2)
			expect("in a burst", "a\n", "a\n", start)
			time.Sleep(flushDelay)
			expect("after the burst", "a\nb\nc\n", "a\nb\nc\n", start.Add(flushDelay))

			time.Sleep(10 * flushDelay) // quiet: the next item goes at once
			after := time.Now()
			yield("d")
			expect("after a quiet spell", "a\nb\nc\nd\n", "a\nb\nc\nd\n", after)

			yield("0123456789abcdef") // fills the 16-byte batch: written now
			expect("full batch", "a\nb\nc\nd\n0123456789abcdef\n", "a\nb\nc\nd\n", after)
			time.Sleep(2 * flushDelay)
			expect("full batch, flushed", "a\nb\nc\nd\n0123456789abcdef\n", "a\nb\nc\nd\n0123456789abcdef\n", after.Add(flushDelay))

			yield("e") // not quiet yet: held back until the end
			return nil
		})
		const all = "a\nb\nc\nd\n0123456789abcdef\ne\n"
		if written, flushed, _ := rec.state(); written != all || flushed != all {
			t.Errorf("at the end: written %q, flushed %q; want %q", written, flushed, all)
		}
		if report.Outcome != Completed || report.Items != 6 || report.Bytes != int64(len(all)) {
			t.Errorf("report %+v; want completed, 6 items, %d bytes", report, len(all))
		}
	})
}

// TestBufferedYieldAfterEnd: once the producers' context has ended (here
// by MaxDuration), yield refuses items with its cause, and so does a yield
// after the producer returned (from a goroutine it failed to join).
func TestBufferedYieldAfterEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec, c := newRecorded()
		var report Report
		w := Writer[string]{Encoder: Lines[string]{}, Config: Config{
			MaxDuration: time.Second,
			OnReport:    func(_ *gin.Context, r Report) { report = r },
			Logger:      slog.New(slog.DiscardHandler),
		}}
		var late func(string) error
		func() {
			// This writer can neither be hijacked nor given a deadline:
			// Stream aborts the response by panicking.
			defer func() {
				if v := recover(); v != http.ErrAbortHandler {
					t.Errorf("Stream panicked with %v; want http.ErrAbortHandler", v)
				}
			}()
			w.Stream(c, func(ctx context.Context, yield func(string) error) error {
				late = yield
				if err := yield("a"); err != nil {
					t.Errorf("first yield: %v", err)
				}
				<-ctx.Done()
				err := yield("b")
				if !errors.Is(err, ErrMaxDuration) {
					t.Errorf("yield after the end: %v; want %v", err, ErrMaxDuration)
				}
				return err
			})
		}()
		if report.Outcome != Expired {
			t.Errorf("report %+v; want the outcome expired", report)
		}
		if err := late("c"); !errors.Is(err, generator.ErrClosed) && !errors.Is(err, ErrMaxDuration) {
			t.Errorf("a yield after the producer returned: %v; want an error", err)
		}
		if written, _, _ := rec.state(); written != "a\n" {
			t.Errorf("written %q; want %q", written, "a\n")
		}
	})
}

// TestBufferedConcurrentYields: yield is safe for concurrent use: items
// yielded by goroutines that the producer starts and joins arrive whole and
// exactly once, each goroutine's in its order, while full batches are
// written and the flush timer writes what pauses leave in the buffer (run
// it with -race).
func TestBufferedConcurrentYields(t *testing.T) {
	const workers, items = 8, 2000
	rec, c := newRecorded()
	w := Writer[string]{Encoder: Lines[string]{}, BatchBytes: 512}
	report := w.Stream(c, func(_ context.Context, yield func(string) error) error {
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for g := range workers {
			wg.Go(func() {
				for i := range items {
					if errs[g] = yield(fmt.Sprintf("%d-%d", g, i)); errs[g] != nil {
						return
					}
					if i%500 == 499 {
						time.Sleep(2 * flushDelay) // the timer's turn
					}
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	})
	written, flushed, _ := rec.state()
	if flushed != written {
		t.Errorf("%d bytes written, %d flushed", len(written), len(flushed))
	}
	next := make([]int, workers)
	for line := range strings.Lines(written) {
		var g, i int
		if _, err := fmt.Sscanf(line, "%d-%d\n", &g, &i); err != nil || g < 0 || g >= workers {
			t.Fatalf("mangled line %q (%v)", line, err)
		}
		if i != next[g] {
			t.Fatalf("worker %d: item %d after %d", g, i, next[g]-1)
		}
		next[g]++
	}
	for g, n := range next {
		if n != items {
			t.Errorf("worker %d: %d items, want %d", g, n, items)
		}
	}
	if report.Outcome != Completed || report.Items != workers*items || report.Bytes != int64(len(written)) {
		t.Errorf("report %+v; want completed, %d items, %d bytes", report, workers*items, len(written))
	}
}
