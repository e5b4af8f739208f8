package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gin-gonic/gin"

	"golang.org/x/sync/errgroup"

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

// owned sets ownedHook for the test and returns what it saw: whether the
// producer of each stream owned it, in order.
func owned(t *testing.T) *[]bool {
	var mu sync.Mutex
	var seen []bool
	ownedHook = func(o bool) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, o)
	}
	t.Cleanup(func() { ownedHook = nil })
	return &seen
}

// countWrapper returns a producer that runs Count(n, 0) inside it, as a
// wrapper does, and then waits for wait.
func countWrapper(n int, wait time.Duration) generator.Func[int] {
	return func(ctx context.Context, yield func(int) error) error {
		if err := generator.Count(n, 0)(ctx, yield); err != nil {
			return err
		}
		time.Sleep(wait)
		return nil
	}
}

// TestBufferedOwned: generator.Count without an interval and generator.Slice
// own the stream they are the producer of (no flush timer, no lock per
// item), and their items arrive whole, in order and flushed, across many
// full batches; a producer that waits, or that runs one of them inside it,
// does not own it.
func TestBufferedOwned(t *testing.T) {
	const n = 5000 // 23,894 bytes: hundreds of 64-byte batches
	var want strings.Builder
	numbers := make([]int, n)
	for i := range n {
		numbers[i] = i + 1
		fmt.Fprintf(&want, "%d\n", i+1)
	}
	cases := []struct {
		name     string
		producer generator.Func[int]
		owned    bool
	}{
		{"Count without an interval", generator.Count(n, 0), true},
		{"Slice", generator.Slice(numbers), true},
		{"Count with an interval", generator.Count(3, time.Microsecond), false},
		{"a producer running Count inside it", countWrapper(n, 0), false},
		{"a closure", func(_ context.Context, yield func(int) error) error {
			for _, v := range numbers {
				if err := yield(v); err != nil {
					return err
				}
			}
			return nil
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen := owned(t)
			rec, c := newRecorded()
			w := Writer[int]{Encoder: Lines[int]{}, BatchBytes: 64}
			report := w.Stream(c, tc.producer)
			if len(*seen) != 1 || (*seen)[0] != tc.owned {
				t.Errorf("owned: %v; want [%v]", *seen, tc.owned)
			}
			written, flushed, _ := rec.state()
			wantBody := want.String()
			if tc.name == "Count with an interval" {
				wantBody = "1\n2\n3\n"
			}
			if written != wantBody || flushed != written {
				t.Errorf("written %d bytes, flushed %d; want %d, all flushed", len(written), len(flushed), len(wantBody))
			}
			if items := int64(strings.Count(wantBody, "\n")); report.Outcome != Completed || report.Items != items || report.Bytes != int64(len(wantBody)) {
				t.Errorf("report %+v; want completed, %d items, %d bytes", report, items, len(wantBody))
			}
		})
	}
}

// TestBufferedOwnedEncodeError: an item that an owned stream's encoder
// refuses fails the stream after the items before it, as in any stream.
func TestBufferedOwnedEncodeError(t *testing.T) {
	seen := owned(t)
	rec, c := newRecorded()
	w := Writer[string]{Encoder: Lines[string]{}, BatchBytes: 4}
	report := streamAborted(t, &w, c, generator.Slice([]string{"a", "bb", "ccc", "d\ne", "f"}))
	if len(*seen) != 1 || !(*seen)[0] {
		t.Fatalf("owned: %v; want [true]", *seen)
	}
	if report.Outcome != Failed || !errors.Is(report.Err, ErrLineBreak) || report.Items != 3 {
		t.Errorf("report %+v; want failed with ErrLineBreak after 3 items", report)
	}
	if written, flushed, _ := rec.state(); written != "a\nbb\nccc\n" || flushed != written {
		t.Errorf("written %q, flushed %q; want the 3 items before the refused one", written, flushed)
	}
}

// TestBufferedOwnedExpires: an owned stream that never waits still ends
// when its time is up (Config.MaxDuration): yield refuses the next item.
func TestBufferedOwnedExpires(t *testing.T) {
	seen := owned(t)
	rec, c := newRecorded()
	w := Writer[int]{Encoder: Lines[int]{}, BatchBytes: 1 << 10, Config: Config{MaxDuration: 20 * time.Millisecond}}
	report := streamAborted(t, &w, c, generator.Count(1<<62, 0))
	if len(*seen) != 1 || !(*seen)[0] {
		t.Fatalf("owned: %v; want [true]", *seen)
	}
	if report.Outcome != Expired || report.Items == 0 {
		t.Errorf("report %+v; want expired after some items", report)
	}
	written, _, _ := rec.state()
	if lines := strings.Count(written, "\n"); int64(lines) > report.Items || !strings.HasPrefix(written, "1\n2\n3\n") {
		t.Errorf("%d lines written (%q…), report %d items", lines, written[:min(len(written), 20)], report.Items)
	}
}

// streamAborted runs w.Stream for a stream that fails after its response
// began, which a flushRecorder can only abort (Stream panics with
// http.ErrAbortHandler, as in TestBufferedYieldAfterEnd), and returns the
// stream's report.
func streamAborted[T any](t *testing.T, w *Writer[T], c *gin.Context, producer generator.Func[T]) (report Report) {
	t.Helper()
	w.OnReport = func(_ *gin.Context, r Report) { report = r }
	w.Logger = slog.New(slog.DiscardHandler)
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("Stream panicked with %v; want http.ErrAbortHandler", v)
		}
	}()
	w.Stream(c, producer)
	return report
}

// TestBufferedWrapperNotOwned: a producer that runs Count inside it and then
// waits does not own the stream: the flush timer sends Count's items
// flushDelay after they were yielded, not when the wrapper returns.
func TestBufferedWrapperNotOwned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec, c := newRecorded()
		w := Writer[int]{Encoder: Lines[int]{}}
		start := time.Now()
		w.Stream(c, countWrapper(3, 100*flushDelay))
		if _, flushed, at := rec.state(); flushed != "1\n2\n3\n" || !at.Equal(start.Add(flushDelay)) {
			t.Errorf("flushed %q at %v; want %q at %v", flushed, at.Sub(start), "1\n2\n3\n", flushDelay)
		}
	})
}

// TestBufferedCountsInGoroutines: Count run inside goroutines of a
// producer, which yield at once, does not own the stream; every item
// arrives whole (run it with -race).
func TestBufferedCountsInGoroutines(t *testing.T) {
	const workers, items = 4, 3000
	seen := owned(t)
	rec, c := newRecorded()
	w := Writer[int]{Encoder: Lines[int]{}, BatchBytes: 256}
	report := w.Stream(c, func(ctx context.Context, yield func(int) error) error {
		var g errgroup.Group
		for range workers {
			g.Go(func() error { return generator.Count(items, 0)(ctx, yield) })
		}
		return g.Wait()
	})
	if len(*seen) != 1 || (*seen)[0] {
		t.Errorf("owned: %v; want [false]", *seen)
	}
	written, flushed, _ := rec.state()
	counts := map[string]int{}
	for line := range strings.Lines(written) {
		counts[line]++
	}
	for i := 1; i <= items; i++ {
		if n := counts[fmt.Sprintf("%d\n", i)]; n != workers {
			t.Fatalf("%d arrived %d times; want %d", i, n, workers)
		}
	}
	if flushed != written || report.Items != workers*items {
		t.Errorf("report %+v, %d bytes written, %d flushed; want %d items, all flushed", report, len(written), len(flushed), workers*items)
	}
}

// discardResponse is a response writer that discards what is written.
type discardResponse struct{ header http.Header }

func (r *discardResponse) Header() http.Header         { return r.header }
func (r *discardResponse) WriteHeader(int)             {}
func (r *discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (r *discardResponse) Flush()                      {}

// BenchmarkLoneProducer is the cost per item of a lone producer's stream of
// 1,000,000 numbers as lines into a response that discards them, without
// the network: generator.Count, which owns the stream, and the same loop
// as a closure, whose items take the lock of the flush timer; beside them
// the loop a hand-written handler has, through a 64 KiB bufio.Writer.
func BenchmarkLoneProducer(b *testing.B) {
	const items = 1_000_000
	b.Run("bufio", func(b *testing.B) {
		bw := bufio.NewWriterSize(&discardResponse{}, 64<<10)
		for b.Loop() {
			for i := 1; i <= items; i++ {
				line := strconv.AppendInt(bw.AvailableBuffer(), int64(i), 10)
				bw.Write(append(line, '\n'))
			}
			bw.Flush()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
	})
	cases := []struct {
		name     string
		producer generator.Func[int]
	}{
		{"owned", generator.Count(items, 0)},
		{"closure", func(_ context.Context, yield func(int) error) error {
			for i := 1; i <= items; i++ {
				if err := yield(i); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	gin.SetMode(gin.ReleaseMode)
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			w := Writer[int]{Encoder: Lines[int]{}}
			for b.Loop() {
				c, _ := gin.CreateTestContext(&discardResponse{header: http.Header{}})
				c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
				if r := w.Stream(c, bc.producer); r.Items != items {
					b.Fatalf("report %+v", r)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*items), "ns/item")
		})
	}
}
