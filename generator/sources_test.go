package generator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/ginstream/ginstream/generator"
)

// errRefused is what the yield of call returns once it stops accepting.
var errRefused = errors.New("yield refused")

// call runs a producer directly, without a Group. Its yield accepts the
// first accept items (all of them if accept is negative) and then returns
// errRefused. call returns the accepted items and the producer's error.
func call[T any](ctx context.Context, p generator.Func[T], accept int) ([]T, error) {
	var mu sync.Mutex // Merge calls yield concurrently
	var got []T
	err := p(ctx, func(item T) error {
		mu.Lock()
		defer mu.Unlock()
		if accept >= 0 && len(got) == accept {
			return errRefused
		}
		got = append(got, item)
		return nil
	})
	return got, err
}

func TestSlice(t *testing.T) {
	tests := []struct {
		name   string
		items  []string
		accept int
		want   []string
		err    error
	}{
		{"nil slice", nil, -1, nil, nil},
		{"empty slice", []string{}, -1, nil, nil},
		{"every item in order", []string{"a", "b", "c"}, -1, []string{"a", "b", "c"}, nil},
		{"stops when yield fails", []string{"a", "b", "c"}, 1, []string{"a"}, errRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := call(t.Context(), generator.Slice(tt.items), tt.accept)
			if !slices.Equal(got, tt.want) || err != tt.err {
				t.Errorf("Slice yielded %q and returned %v; want %q and %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// counting returns an iterator over 1..n that counts in *produced the values
// it has produced.
func counting(n int, produced *int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 1; i <= n; i++ {
			*produced++
			if !yield(i) {
				return
			}
		}
	}
}

func TestSeq(t *testing.T) {
	tests := []struct {
		name         string
		n            int
		accept       int
		want         []int
		err          error
		wantProduced int // values the iterator produced
	}{
		{"empty iterator", 0, -1, nil, nil, 0},
		{"every value in order", 5, -1, []int{1, 2, 3, 4, 5}, nil, 5},
		{"stops the iterator when yield fails", 5, 2, []int{1, 2}, errRefused, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			produced := 0
			got, err := call(t.Context(), generator.Seq(counting(tt.n, &produced)), tt.accept)
			if !slices.Equal(got, tt.want) || err != tt.err {
				t.Errorf("Seq yielded %v and returned %v; want %v and %v", got, err, tt.want, tt.err)
			}
			if produced != tt.wantProduced {
				t.Errorf("the iterator produced %d values, want %d", produced, tt.wantProduced)
			}
		})
	}
}

// pair is one value and error of an iter.Seq2[T, error].
type pair struct {
	v   int
	err error
}

// pairs returns an iterator over ps.
func pairs(ps ...pair) iter.Seq2[int, error] {
	return func(yield func(int, error) bool) {
		for _, p := range ps {
			if !yield(p.v, p.err) {
				return
			}
		}
	}
}

func TestSeq2(t *testing.T) {
	tests := []struct {
		name   string
		seq    iter.Seq2[int, error]
		accept int
		want   []int
		err    error
	}{
		{"empty iterator", pairs(), -1, nil, nil},
		{"every value in order", pairs(pair{1, nil}, pair{2, nil}, pair{3, nil}), -1, []int{1, 2, 3}, nil},
		{
			name:   "an error pair stops with that error and its value is dropped",
			seq:    pairs(pair{1, nil}, pair{2, nil}, pair{99, errBoom}, pair{3, nil}),
			accept: -1,
			want:   []int{1, 2},
			err:    errBoom,
		},
		{"an error first", pairs(pair{0, errBoom}, pair{1, nil}), -1, nil, errBoom},
		{"stops when yield fails", pairs(pair{1, nil}, pair{2, nil}, pair{3, nil}), 1, []int{1}, errRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := call(t.Context(), generator.Seq2(tt.seq), tt.accept)
			if !slices.Equal(got, tt.want) || err != tt.err {
				t.Errorf("Seq2 yielded %v and returned %v; want %v and %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestCountPacesNumbers(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name       string
		n          int
		interval   time.Duration
		yieldTakes time.Duration   // how long the consumer takes to accept each number
		want       []time.Duration // when each number is yielded, from the start
	}{
		{"numbers 20ms apart", 5, 20 * ms, 0, []time.Duration{0, 20 * ms, 40 * ms, 60 * ms, 80 * ms}},
		{"one number comes at once", 1, time.Hour, 0, []time.Duration{0}},
		{"no numbers", 0, time.Hour, 0, nil},
		{"interval zero", 4, 0, 0, []time.Duration{0, 0, 0, 0}},
		{"negative interval", 3, -time.Second, 0, []time.Duration{0, 0, 0}},
		// The pace does not drift by the time each yield takes.
		{"consumer taking part of the interval", 4, 20 * ms, 7 * ms, []time.Duration{0, 20 * ms, 40 * ms, 60 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var got []int
				var at []time.Duration
				err := generator.Count(tt.n, tt.interval)(t.Context(), func(i int) error {
					got = append(got, i)
					at = append(at, time.Since(start))
					time.Sleep(tt.yieldTakes)
					return nil
				})
				if err != nil {
					t.Fatalf("Count returned %v, want nil", err)
				}
				if want := seq(1, tt.n); !slices.Equal(got, want) {
					t.Errorf("Count yielded %v, want %v", got, want)
				}
				if !slices.Equal(at, tt.want) {
					t.Errorf("numbers came at %v, want %v", at, tt.want)
				}
				var last time.Duration
				if len(tt.want) > 0 {
					last = tt.want[len(tt.want)-1] + tt.yieldTakes
				}
				if d := time.Since(start); d != last {
					t.Errorf("Count returned at %v, want %v: right after the last number", d, last)
				}
			})
		})
	}
}

func TestCountSlowsDownWithASlowConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		err := generator.Count(6, time.Second)(t.Context(), func(i int) error {
			at = append(at, time.Since(start))
			if i == 2 {
				time.Sleep(3500 * time.Millisecond) // the consumer falls behind
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Count returned %v, want nil", err)
		}
		// No burst to catch up on the missed ticks: no two numbers at once,
		// and the pace returns to one a second.
		for i := 1; i < len(at); i++ {
			if at[i] <= at[i-1] {
				t.Errorf("numbers %d and %d both came at %v: a burst after a slow consumer (all: %v)", i, i+1, at[i], at)
			}
		}
		if len(at) == 6 {
			if d := at[5] - at[4]; d != time.Second {
				t.Errorf("the last two numbers came %v apart, want the interval, 1s (all: %v)", d, at)
			}
		}
	})
}

func TestCountStopsWhenCancelledWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errGone := errors.New("client gone")
		ctx, cancel := context.WithCancelCause(t.Context())
		defer cancel(nil)
		start := time.Now()
		var (
			got      []int
			err      error
			returned = make(chan struct{})
		)
		go func() {
			defer close(returned)
			got, err = call(ctx, generator.Count(5, time.Hour), -1)
		}()
		synctest.Wait() // 1 is out; Count waits for the next tick
		cancel(errGone)
		<-returned
		if !slices.Equal(got, []int{1}) {
			t.Errorf("Count yielded %v, want [1]", got)
		}
		if err != errGone {
			t.Errorf("Count returned %v, want the context's cause %v", err, errGone)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Count returned after %v, want at once on cancellation", d)
		}
	})
}

func TestCountStopsWhenYieldFails(t *testing.T) {
	for _, interval := range []time.Duration{0, time.Second} {
		synctest.Test(t, func(t *testing.T) {
			got, err := call(t.Context(), generator.Count(10, interval), 3)
			if !slices.Equal(got, []int{1, 2, 3}) || err != errRefused {
				t.Errorf("interval %v: Count yielded %v and returned %v; want [1 2 3] and %v", interval, got, err, errRefused)
			}
		})
	}
}

func TestLines(t *testing.T) {
	long := strings.Repeat("x", generator.DefaultMaxLine)
	tests := []struct {
		name  string
		input string
		max   int
		want  []string
		err   error  // nil, or what the error must match
		where string // what the error message must contain
	}{
		{name: "empty input", input: "", want: nil},
		{name: "lines ending in \\n", input: "a\nbb\nccc\n", want: []string{"a", "bb", "ccc"}},
		{name: "lines ending in \\r\\n", input: "a\r\nbb\r\nccc\r\n", want: []string{"a", "bb", "ccc"}},
		{name: "mixed line endings", input: "a\r\nb\nc\r\n", want: []string{"a", "b", "c"}},
		{name: "final line without newline", input: "a\nlast", want: []string{"a", "last"}},
		{name: "empty lines kept", input: "\n\na\n\n", want: []string{"", "", "a", ""}},
		{name: "a lone newline", input: "\n", want: []string{""}},
		{name: "carriage return inside a line kept", input: "a\rb\n", want: []string{"a\rb"}},

		{name: "line of exactly max bytes", input: "ab\n12345\ncd\n", max: 5, want: []string{"ab", "12345", "cd"}},
		{name: "line of exactly max bytes with \\r\\n", input: "12345\r\n12345\r\n", max: 5, want: []string{"12345", "12345"}},
		{name: "line of exactly max bytes at the end", input: "ab\n12345", max: 5, want: []string{"ab", "12345"}},
		{name: "line of DefaultMaxLine bytes when max is zero", input: long + "\r\n" + long, want: []string{long, long}},

		{
			name: "line of max+1 bytes", input: "ab\n123456\ncd\n", max: 5,
			want: []string{"ab"}, err: generator.ErrLineTooLong, where: "line 2",
		},
		{
			name: "line of max+1 bytes with \\r\\n", input: "ab\r\n123456\r\ncd\r\n", max: 5,
			want: []string{"ab"}, err: generator.ErrLineTooLong, where: "line 2",
		},
		{
			name: "line of max+1 bytes at the end", input: "ab\ncd\n123456", max: 5,
			want: []string{"ab", "cd"}, err: generator.ErrLineTooLong, where: "line 3",
		},
		{
			name: "line far over max", input: "ab\n" + strings.Repeat("y", 1000) + "\ncd\n", max: 5,
			want: []string{"ab"}, err: generator.ErrLineTooLong, where: "line 2",
		},
		{
			name: "first line too long", input: "123456\n", max: 5,
			want: nil, err: generator.ErrLineTooLong, where: "line 1",
		},
		{
			name: "line of DefaultMaxLine+1 bytes when max is zero", input: "ab\n" + long + "x\n",
			want: []string{"ab"}, err: generator.ErrLineTooLong, where: "line 2",
		},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole reads", func(r io.Reader) io.Reader { return r }},
		{"one byte per read", iotest.OneByteReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				r := rd.wrap(strings.NewReader(tt.input))
				got, err := call(t.Context(), generator.ReadLines(r, tt.max), -1)
				if !slices.Equal(got, tt.want) {
					t.Errorf("Lines yielded %q, want %q", abbreviate(got), abbreviate(tt.want))
				}
				switch {
				case tt.err == nil && err != nil:
					t.Errorf("Lines returned %v, want nil", err)
				case tt.err != nil && !errors.Is(err, tt.err):
					t.Errorf("Lines returned %v, want an error matching %v", err, tt.err)
				case tt.err != nil && !strings.Contains(err.Error(), tt.where):
					t.Errorf("Lines returned %q, want it to name %q", err, tt.where)
				}
			})
		}
	}
}

// abbreviate shortens long lines for test messages.
func abbreviate(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) > 20 {
			l = fmt.Sprintf("%.10s… (%d bytes)", l, len(l))
		}
		out[i] = l
	}
	return out
}

func TestLinesReaderError(t *testing.T) {
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name  string
		data  string // read before the error
		want  []string
		where string
	}{
		{"error on the first read", "", nil, "line 1"},
		{"error after a complete line", "a\n", []string{"a"}, "line 2"},
		// The partial line may have been cut by the failure: it must not be
		// yielded as if it were whole.
		{"error in the middle of a line", "a\nbro", []string{"a"}, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := io.MultiReader(strings.NewReader(tt.data), iotest.ErrReader(errDisk))
			got, err := call(t.Context(), generator.ReadLines(r, 0), -1)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Lines yielded %q, want %q", got, tt.want)
			}
			if !errors.Is(err, errDisk) {
				t.Errorf("Lines returned %v, want it to wrap the reader's error", err)
			} else if !strings.Contains(err.Error(), tt.where) {
				t.Errorf("Lines returned %q, want it to name %q", err, tt.where)
			}
		})
	}
}

func TestLinesStopsWhenYieldFails(t *testing.T) {
	got, err := call(t.Context(), generator.ReadLines(strings.NewReader("a\nb\nc\n"), 0), 1)
	if !slices.Equal(got, []string{"a"}) || err != errRefused {
		t.Errorf("Lines yielded %q and returned %v; want [a] and %v", got, err, errRefused)
	}
}

// tagged returns a producer that yields tag*1000+i for i in 0..n-1.
func tagged(tag, n int) generator.Func[int] {
	return func(_ context.Context, yield func(int) error) error {
		for i := range n {
			if err := yield(tag*1000 + i); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestMergeDeliversEveryItemInEachProducersOrder(t *testing.T) {
	tests := []struct {
		name      string
		producers int
		each      int
	}{
		{"no producers", 0, 0},
		{"one producer", 1, 100},
		{"four producers", 4, 250},
		{"some producers empty", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var funcs []generator.Func[int]
			for p := range tt.producers {
				funcs = append(funcs, tagged(p, tt.each))
			}
			s := generator.Start(t.Context(), generator.Options{Capacity: 8}, generator.Merge(funcs...))
			got, err := drain(s)
			if err != io.EOF {
				t.Fatalf("Next ended with %v, want io.EOF", err)
			}
			if len(got) != tt.producers*tt.each {
				t.Fatalf("received %d items, want %d", len(got), tt.producers*tt.each)
			}
			next := make([]int, tt.producers)
			for _, item := range got {
				p, i := item/1000, item%1000
				if i != next[p] {
					t.Fatalf("producer %d: item %d arrived when %d was due", p, i, next[p])
				}
				next[p]++
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close() = %v, want nil", err)
			}
		})
	}
}

// drainAtMost receives up to limit items and reports whether the stream
// ended within them.
func drainAtMost[T any](s *generator.Group[T], limit int) (got []T, err error, ended bool) {
	var batch []T
	for len(got) <= limit {
		batch, err = s.Next(batch)
		got = append(got, batch...)
		if err != nil {
			return got, err, true
		}
	}
	return got, nil, false
}

func TestMergeFirstErrorCancelsSiblings(t *testing.T) {
	failing := func(_ context.Context, yield func(int) error) error {
		if err := yieldAll(yield, 1, 2); err != nil {
			return err
		}
		return errBoom
	}
	t.Run("sibling waiting on its context", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var cause, yieldErr error
			sibling := func(ctx context.Context, yield func(int) error) error {
				<-ctx.Done()
				cause = context.Cause(ctx)
				// The stream is over for this producer: yield must refuse.
				yieldErr = yield(-1)
				return yieldErr
			}
			s := generator.Start(t.Context(), generator.Options{}, generator.Merge(failing, sibling))
			got, err := drain(s)
			s.Close()
			if !slices.Equal(got, []int{1, 2}) {
				t.Errorf("received %v, want [1 2]: the items produced before the error and none after", got)
			}
			if err != errBoom {
				t.Errorf("Next ended with %v, want %v", err, errBoom)
			}
			if cause == nil {
				t.Error("the sibling's context was not cancelled")
			}
			if yieldErr == nil {
				t.Error("the sibling's yield accepted an item after another producer failed")
			}
		})
	})
	t.Run("sibling that only watches yield", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const capacity = 2
			failAtOnce := func(context.Context, func(int) error) error { return errBoom }
			s := generator.Start(t.Context(), generator.Options{Capacity: capacity}, generator.Merge(failAtOnce, endless()))
			defer s.Close()
			synctest.Wait() // failAtOnce has returned; endless waits on the full buffer
			// The sibling may finish the yield it is blocked in, but its next
			// must fail, so the stream ends within a few batches.
			got, err, ended := drainAtMost(s, 4*capacity)
			if !ended {
				t.Fatalf("stream still going after %d items although a producer failed: the sibling's yield never failed", len(got))
			}
			if err != errBoom {
				t.Errorf("Next ended with %v, want %v", err, errBoom)
			}
		})
	})
	t.Run("called directly", func(t *testing.T) {
		var cause error
		sibling := func(ctx context.Context, _ func(int) error) error {
			<-ctx.Done()
			cause = context.Cause(ctx)
			return cause
		}
		got, err := call(t.Context(), generator.Merge(failing, sibling), -1)
		if !slices.Equal(got, []int{1, 2}) || err != errBoom {
			t.Errorf("Merge yielded %v and returned %v; want [1 2] and %v", got, err, errBoom)
		}
		if cause == nil {
			t.Error("the sibling's context was not cancelled")
		}
	})
}

func TestMergePanicBecomesPanicError(t *testing.T) {
	var siblingCause error
	sibling := func(ctx context.Context, _ func(int) error) error {
		<-ctx.Done()
		siblingCause = context.Cause(ctx)
		return siblingCause
	}
	tests := []struct {
		name string
		run  func(t *testing.T, p generator.Func[int]) error
	}{
		{
			name: "inside a stream",
			run: func(t *testing.T, p generator.Func[int]) error {
				s := generator.Start(t.Context(), generator.Options{}, p)
				_, err := drain(s)
				s.Close()
				return err
			},
		},
		{
			// Merge is a producer of its own and must not let a panic escape
			// on its caller's goroutines.
			name: "called directly",
			run: func(t *testing.T, p generator.Func[int]) error {
				_, err := call(t.Context(), p, -1)
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			siblingCause = nil
			err := tt.run(t, generator.Merge(sibling, panicAfterOne("kaboom")))
			var pe *generator.PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v (%T), want a *PanicError", err, err)
			}
			if pe.Value != "kaboom" {
				t.Errorf("Value = %#v, want %q", pe.Value, "kaboom")
			}
			if !strings.Contains(string(pe.Stack), ".panicAfterOne") {
				t.Errorf("Stack does not name the panicking function panicAfterOne:\n%s", pe.Stack)
			}
			if siblingCause == nil {
				t.Error("the sibling was not cancelled")
			}
		})
	}
}
