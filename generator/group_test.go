package generator_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ginstream/ginstream/generator"
)

// errBoom is a producer's own failure, as opposed to one the stream causes.
var errBoom = errors.New("boom")

// upTo returns a producer that yields 1 to n and returns nil.
func upTo(n int) generator.Func[int] {
	return func(_ context.Context, yield func(int) error) error {
		for i := 1; i <= n; i++ {
			if err := yield(i); err != nil {
				return err
			}
		}
		return nil
	}
}

// endless returns a producer that yields 0, 1, 2, … until yield fails, and
// then returns yield's error, as the Func contract asks.
func endless() generator.Func[int] {
	return func(_ context.Context, yield func(int) error) error {
		for i := 0; ; i++ {
			if err := yield(i); err != nil {
				return err
			}
		}
	}
}

// yieldAll yields items in order and returns the first error of yield.
func yieldAll[T any](yield func(T) error, items ...T) error {
	for _, item := range items {
		if err := yield(item); err != nil {
			return err
		}
	}
	return nil
}

// drain receives items with Next until the stream ends and returns them with
// the error Next ended with.
func drain[T any](s *generator.Group[T]) ([]T, error) {
	var got, batch []T
	for {
		var err error
		batch, err = s.Next(batch)
		got = append(got, batch...)
		if err != nil {
			return got, err
		}
	}
}

// seq returns the numbers from to to inclusive.
func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestStreamDeliversItemsInOrderThenEOF(t *testing.T) {
	tests := []struct {
		name     string
		items    int
		capacity int
	}{
		{"no items", 0, 4},
		{"fewer items than the capacity", 3, 4},
		{"exactly the capacity", 4, 4},
		{"many batches through capacity 1", 100, 1},
		{"many batches through a small buffer", 1000, 7},
		{"default capacity", 5000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := generator.Start(t.Context(), generator.Options{Capacity: tt.capacity}, upTo(tt.items))
			got, err := drain(s)
			if err != io.EOF {
				t.Fatalf("Next ended with %v, want io.EOF", err)
			}
			if want := seq(1, tt.items); !slices.Equal(got, want) {
				t.Errorf("received %v, want %v", got, want)
			}
			if batch, err := s.Next(nil); len(batch) != 0 || err != io.EOF {
				t.Errorf("Next after the end = %v, %v; want no items and io.EOF again", batch, err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close() = %v, want nil", err)
			}
		})
	}
}

func TestStreamWithoutProducersEndsAtOnce(t *testing.T) {
	// In a synctest bubble a Next that waited forever would be reported as a
	// deadlock instead of hanging the test.
	synctest.Test(t, func(t *testing.T) {
		s := generator.Start[int](t.Context(), generator.Options{})
		if got := s.TryNext(nil); len(got) != 0 {
			t.Errorf("TryNext() = %v, want no items", got)
		}
		if batch, err := s.Next(nil); len(batch) != 0 || err != io.EOF {
			t.Errorf("Next() = %v, %v; want no items and io.EOF", batch, err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	})
}

func TestStreamCapacityBoundsTheProducer(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		want     int // items yield accepts before it blocks
	}{
		{"capacity 1", 1, 1},
		{"capacity 5", 5, 5},
		{"zero means DefaultCapacity", 0, generator.DefaultCapacity},
		{"negative means DefaultCapacity", -3, generator.DefaultCapacity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls, accepted atomic.Int64
				s := generator.Start(t.Context(), generator.Options{Capacity: tt.capacity},
					func(_ context.Context, yield func(int) error) error {
						for i := 0; ; i++ {
							calls.Add(1)
							if err := yield(i); err != nil {
								return err
							}
							accepted.Add(1)
						}
					})
				defer s.Close()

				// The consumer has not received anything: the producer runs
				// until it blocks for good.
				synctest.Wait()
				if got := accepted.Load(); got != int64(tt.want) {
					t.Fatalf("yield accepted %d items before blocking, want %d", got, tt.want)
				}
				if got := calls.Load(); got != int64(tt.want)+1 {
					t.Fatalf("producer made %d yield calls, want %d (blocked in the last)", got, tt.want+1)
				}

				// Receiving a batch makes room for one more buffer's worth: the
				// consumer's batch and the buffer, 2×Capacity items at most.
				batch, err := s.Next(nil)
				if err != nil || len(batch) != tt.want {
					t.Fatalf("Next() = %d items, %v; want %d items, nil", len(batch), err, tt.want)
				}
				synctest.Wait()
				if got := accepted.Load(); got != 2*int64(tt.want) {
					t.Errorf("after one batch was received, yield accepted %d items in all, want %d", got, 2*tt.want)
				}
				if err := s.Close(); err != nil {
					t.Errorf("Close() = %v, want nil", err)
				}
			})
		})
	}
}

func TestStreamNextHandsBackBatchesAndReusesDst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := generator.Start(t.Context(), generator.Options{Capacity: 4}, upTo(12))
		defer s.Close()

		synctest.Wait() // the producer has filled the buffer with 1..4
		first, err := s.Next(nil)
		if err != nil || !slices.Equal(first, []int{1, 2, 3, 4}) {
			t.Fatalf("first Next() = %v, %v; want [1 2 3 4], nil", first, err)
		}
		synctest.Wait() // the producer has refilled the buffer with 5..8
		if !slices.Equal(first, []int{1, 2, 3, 4}) {
			t.Fatalf("first batch changed to %v while the producer went on; a batch must stay valid until passed back", first)
		}
		firstArray := &first[0]

		second, err := s.Next(first) // first is passed back as the spare slice
		if err != nil || !slices.Equal(second, []int{5, 6, 7, 8}) {
			t.Fatalf("second Next() = %v, %v; want [5 6 7 8], nil", second, err)
		}
		if &second[0] == firstArray {
			t.Fatal("second batch shares its array with the first, which was just passed back")
		}
		synctest.Wait() // the producer has filled the buffer with 9..12
		if !slices.Equal(second, []int{5, 6, 7, 8}) {
			t.Fatalf("second batch changed to %v while the producer went on; a batch must stay valid until passed back", second)
		}

		third, err := s.Next(second)
		if err != nil || !slices.Equal(third, []int{9, 10, 11, 12}) {
			t.Fatalf("third Next() = %v, %v; want [9 10 11 12], nil", third, err)
		}
		if &third[0] != firstArray {
			t.Error("third batch does not reuse the array of the slice passed back to Next")
		}
		if batch, err := s.Next(third); len(batch) != 0 || err != io.EOF {
			t.Errorf("last Next() = %v, %v; want no items and io.EOF", batch, err)
		}
	})
}

func TestStreamTryNextDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start, more := make(chan struct{}), make(chan struct{})
		s := generator.Start(t.Context(), generator.Options{Capacity: 8},
			func(_ context.Context, yield func(int) error) error {
				<-start
				if err := yieldAll(yield, 1, 2); err != nil {
					return err
				}
				<-more
				return yield(3)
			})
		defer s.Close()

		// A TryNext that waited would deadlock the bubble: nothing would
		// ever close start.
		batch := s.TryNext(nil)
		if len(batch) != 0 {
			t.Fatalf("TryNext() before any item = %v, want none", batch)
		}
		close(start)
		synctest.Wait()
		if batch = s.TryNext(batch); !slices.Equal(batch, []int{1, 2}) {
			t.Fatalf("TryNext() = %v, want [1 2]", batch)
		}
		if batch = s.TryNext(batch); len(batch) != 0 {
			t.Fatalf("TryNext() while the producer waits = %v, want none", batch)
		}
		close(more)
		synctest.Wait()
		if batch = s.TryNext(batch); !slices.Equal(batch, []int{3}) {
			t.Fatalf("TryNext() = %v, want [3]", batch)
		}
		if batch = s.TryNext(batch); len(batch) != 0 {
			t.Fatalf("TryNext() after the last item = %v, want none", batch)
		}
		if _, err := s.Next(batch); err != io.EOF {
			t.Errorf("Next() after TryNext took everything = %v, want io.EOF", err)
		}
	})
}

func TestStreamFirstErrorCancelsTheOthers(t *testing.T) {
	// A yield that accepts items for a moment after the failure is a race:
	// repeat the scenario so that it shows.
	for round := range 20 {
		const siblings = 3
		type seen struct {
			ctxDone  bool
			yieldErr error
		}
		var seenBy [siblings]seen
		producers := []generator.Func[int]{
			func(_ context.Context, yield func(int) error) error {
				if err := yieldAll(yield, 1, 2); err != nil {
					return err
				}
				return errBoom
			},
		}
		for i := range siblings {
			producers = append(producers, func(ctx context.Context, yield func(int) error) error {
				<-ctx.Done()
				seenBy[i].ctxDone = true
				// The stream is over for this producer: yield must refuse.
				seenBy[i].yieldErr = yield(-1)
				return seenBy[i].yieldErr
			})
		}

		s := generator.Start(t.Context(), generator.Options{}, producers...)
		got, err := drain(s)
		closeErr := s.Close()

		if !slices.Equal(got, []int{1, 2}) {
			t.Errorf("round %d: received %v, want [1 2]: the items produced before the error and none after", round, got)
		}
		if err != errBoom {
			t.Errorf("round %d: Next ended with %v, want the producer's error %v", round, err, errBoom)
		}
		if closeErr != errBoom {
			t.Errorf("round %d: Close() = %v, want the producer's error %v", round, closeErr, errBoom)
		}
		for i, seen := range seenBy {
			if !seen.ctxDone {
				t.Errorf("round %d, sibling %d: context not done", round, i)
			}
			if seen.yieldErr == nil {
				t.Errorf("round %d, sibling %d: yield accepted an item after another producer failed", round, i)
			}
		}
		if t.Failed() {
			return
		}
	}
}

func TestStreamCloseBeforeTheEndCancelsAndJoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const producers = 3
		var (
			mu        sync.Mutex
			yieldErrs []error
			causes    []error
			finished  atomic.Int64
		)
		var funcs []generator.Func[int]
		for i := range producers {
			funcs = append(funcs, func(ctx context.Context, yield func(int) error) error {
				defer func() {
					// Clean-up that takes a while: Close must wait for it.
					time.Sleep(time.Duration(i+1) * time.Second)
					finished.Add(1)
				}()
				for {
					if err := yield(i); err != nil {
						mu.Lock()
						yieldErrs = append(yieldErrs, err)
						causes = append(causes, context.Cause(ctx))
						mu.Unlock()
						return err
					}
				}
			})
		}
		s := generator.Start(t.Context(), generator.Options{Capacity: 2}, funcs...)
		if _, err := s.Next(nil); err != nil {
			t.Fatalf("Next() = %v", err)
		}

		start := time.Now()
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v, want nil: the cancellation Close causes is no failure", err)
		}
		if n := finished.Load(); n != producers {
			t.Fatalf("Close returned when %d of %d producers had returned", n, producers)
		}
		if d := time.Since(start); d != producers*time.Second {
			t.Errorf("Close returned after %v, want %v (when the slowest producer returned)", d, producers*time.Second)
		}
		if len(yieldErrs) != producers {
			t.Fatalf("%d producers saw yield fail, want %d", len(yieldErrs), producers)
		}
		for i := range yieldErrs {
			if !errors.Is(yieldErrs[i], generator.ErrClosed) {
				t.Errorf("yield returned %v, want an error matching ErrClosed", yieldErrs[i])
			}
			if !errors.Is(causes[i], generator.ErrClosed) {
				t.Errorf("producer context's cause = %v, want ErrClosed", causes[i])
			}
		}
		// The consumer must not hang on a closed stream.
		if _, err := drain(s); !errors.Is(err, generator.ErrClosed) {
			t.Errorf("Next after Close ended with %v, want ErrClosed", err)
		}
	})
}

func TestStreamCloseReturnsOnlyGenuineProducerErrors(t *testing.T) {
	tests := []struct {
		name     string
		producer generator.Func[int]
		want     error // nil, or an error Close's result must match
	}{
		{
			name:     "producer returned nil",
			producer: upTo(3),
		},
		{
			name:     "producer returned the yield error",
			producer: endless(),
		},
		{
			name: "producer wrapped the yield error",
			producer: func(_ context.Context, yield func(int) error) error {
				for {
					if err := yield(1); err != nil {
						return fmt.Errorf("numbers: %w", err)
					}
				}
			},
		},
		{
			name: "producer returned the context's cause",
			producer: func(ctx context.Context, _ func(int) error) error {
				<-ctx.Done()
				return context.Cause(ctx)
			},
		},
		{
			// The common Go idiom; the error is still caused by Close.
			name: "producer returned ctx.Err()",
			producer: func(ctx context.Context, _ func(int) error) error {
				<-ctx.Done()
				return ctx.Err()
			},
		},
		{
			name: "producer failed before Close",
			producer: func(_ context.Context, yield func(int) error) error {
				if err := yield(1); err != nil {
					return err
				}
				return errBoom
			},
			want: errBoom,
		},
		{
			name: "producer panicked before Close",
			producer: func(context.Context, func(int) error) error {
				panic(errBoom)
			},
			want: errBoom, // through PanicError.Unwrap
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := generator.Start(t.Context(), generator.Options{Capacity: 2}, tt.producer)
				synctest.Wait() // the producer has returned or waits for the stream to end
				err := s.Close()
				if tt.want == nil && err != nil {
					t.Errorf("Close() = %v, want nil", err)
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("Close() = %v, want an error matching %v", err, tt.want)
				}
			})
		})
	}
}

func TestStreamCloseIsIdempotentAndSafeForConcurrentUse(t *testing.T) {
	tests := []struct {
		name     string
		producer generator.Func[int]
		want     error
	}{
		{"running producer", endless(), nil},
		{"failed producer", func(context.Context, func(int) error) error { return errBoom }, errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := generator.Start(t.Context(), generator.Options{Capacity: 2}, tt.producer)
			if _, err := s.Next(nil); err != nil && err != tt.want {
				t.Fatalf("Next() = %v", err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for i := range errs {
				wg.Go(func() { errs[i] = s.Close() })
			}
			wg.Wait()
			errs = append(errs, s.Close(), s.Close())
			for i, err := range errs {
				if err != tt.want {
					t.Errorf("call %d: Close() = %v, want %v", i, err, tt.want)
				}
			}
		})
	}
}

func TestStreamParentCancelStopsProducers(t *testing.T) {
	errGone := errors.New("client gone")
	tests := []struct {
		name        string
		cancelFirst bool // cancel the parent before Start
		producer    func(seen *error) generator.Func[int]
	}{
		{
			name: "producer blocked in yield on a full buffer",
			producer: func(seen *error) generator.Func[int] {
				return func(ctx context.Context, yield func(int) error) error {
					for {
						if err := yield(1); err != nil {
							*seen = context.Cause(ctx)
							return err
						}
					}
				}
			},
		},
		{
			name: "producer waiting on its context",
			producer: func(seen *error) generator.Func[int] {
				return func(ctx context.Context, yield func(int) error) error {
					if err := yield(1); err != nil {
						return err
					}
					<-ctx.Done()
					*seen = context.Cause(ctx)
					return context.Cause(ctx)
				}
			},
		},
		{
			name:        "parent cancelled before Start",
			cancelFirst: true,
			producer: func(seen *error) generator.Func[int] {
				return func(ctx context.Context, yield func(int) error) error {
					<-ctx.Done()
					*seen = context.Cause(ctx)
					return yield(1)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Repeated because a yield that accepts an item just after the
			// cancellation is a race.
			for range 20 {
				parentCancelRound(t, tt.cancelFirst, tt.producer, errGone)
				if t.Failed() {
					return
				}
			}
		})
	}
}

// parentCancelRound runs one round of TestStreamParentCancelStopsProducers.
func parentCancelRound(t *testing.T, cancelFirst bool, producer func(seen *error) generator.Func[int], errGone error) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		defer cancel(nil)
		if cancelFirst {
			cancel(errGone)
		}
		var seen error
		s := generator.Start(ctx, generator.Options{Capacity: 2}, producer(&seen))
		defer s.Close()
		synctest.Wait() // the producer is blocked
		cancel(errGone)

		// A Next that never ended would deadlock the bubble.
		if _, err := drain(s); err != errGone {
			t.Errorf("Next ended with %v, want the parent's cause %v", err, errGone)
		}
		s.Close()
		if seen != errGone {
			t.Errorf("producer saw cause %v, want %v", seen, errGone)
		}
	})
}

// codedError is an error type for errors.As to find through a PanicError.
type codedError struct{ code int }

func (e *codedError) Error() string { return fmt.Sprintf("code %d", e.code) }

// panicAfterOne returns a producer that yields 1 and then panics with v. The
// stack of a PanicError from it must name this function.
func panicAfterOne(v any) generator.Func[int] {
	return func(_ context.Context, yield func(int) error) error {
		if err := yield(1); err != nil {
			return err
		}
		panic(v)
	}
}

func TestStreamPanicBecomesPanicError(t *testing.T) {
	tests := []struct {
		name  string
		value any
		check func(t *testing.T, err error, pe *generator.PanicError)
	}{
		{
			name:  "string value",
			value: "kaboom",
			check: func(t *testing.T, err error, pe *generator.PanicError) {
				if pe.Value != "kaboom" {
					t.Errorf("Value = %#v, want %q", pe.Value, "kaboom")
				}
				if !strings.Contains(err.Error(), "kaboom") {
					t.Errorf("Error() = %q, want it to name the value", err)
				}
				if pe.Unwrap() != nil {
					t.Errorf("Unwrap() = %v, want nil for a value that is no error", pe.Unwrap())
				}
			},
		},
		{
			name:  "error value",
			value: &codedError{code: 7},
			check: func(t *testing.T, err error, _ *generator.PanicError) {
				var ce *codedError
				if !errors.As(err, &ce) || ce.code != 7 {
					t.Errorf("errors.As(%v, *codedError) found %v, want code 7", err, ce)
				}
			},
		},
		{
			name:  "wrapped sentinel",
			value: fmt.Errorf("decode: %w", io.ErrUnexpectedEOF),
			check: func(t *testing.T, err error, _ *generator.PanicError) {
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("errors.Is(%v, io.ErrUnexpectedEOF) = false, want true", err)
				}
			},
		},
		{
			name:  "nil value",
			value: nil,
			check: func(t *testing.T, err error, pe *generator.PanicError) {
				var pne *runtime.PanicNilError
				if !errors.As(err, &pne) {
					t.Errorf("Value = %#v, want a *runtime.PanicNilError", pe.Value)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var siblingCause error
			s := generator.Start(t.Context(), generator.Options{},
				panicAfterOne(tt.value),
				func(ctx context.Context, _ func(int) error) error {
					<-ctx.Done()
					siblingCause = context.Cause(ctx)
					return siblingCause
				})
			got, err := drain(s)
			closeErr := s.Close()

			if !slices.Equal(got, []int{1}) {
				t.Errorf("received %v, want [1]: the item yielded before the panic", got)
			}
			var pe *generator.PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("Next ended with %v (%T), want a *PanicError", err, err)
			}
			if !bytes.Contains(pe.Stack, []byte(".panicAfterOne")) {
				t.Errorf("Stack does not name the panicking function panicAfterOne:\n%s", pe.Stack)
			}
			if closeErr != err {
				t.Errorf("Close() = %v, want the same *PanicError as Next", closeErr)
			}
			if siblingCause == nil {
				t.Error("the other producer was not cancelled")
			}
			tt.check(t, err, pe)
		})
	}
}

func TestStreamYieldIsSafeForConcurrentUse(t *testing.T) {
	const workers, perWorker = 8, 500
	type item struct{ worker, i int }
	s := generator.Start(t.Context(), generator.Options{Capacity: 16},
		func(_ context.Context, yield func(item) error) error {
			var wg sync.WaitGroup
			errs := make([]error, workers)
			for w := range workers {
				wg.Go(func() {
					for i := range perWorker {
						if err := yield(item{w, i}); err != nil {
							errs[w] = err
							return
						}
					}
				})
			}
			wg.Wait()
			return errors.Join(errs...)
		})
	got, err := drain(s)
	if err != io.EOF {
		t.Fatalf("Next ended with %v, want io.EOF", err)
	}
	if len(got) != workers*perWorker {
		t.Fatalf("received %d items, want %d", len(got), workers*perWorker)
	}
	var next [workers]int
	for _, it := range got {
		if it.i != next[it.worker] {
			t.Fatalf("worker %d: received item %d, want %d: one goroutine's items out of order or lost", it.worker, it.i, next[it.worker])
		}
		next[it.worker]++
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
}

func TestStreamAllYieldsEveryItemThenStops(t *testing.T) {
	tests := []struct {
		name     string
		items    int
		capacity int
	}{
		{"no items", 0, 0},
		{"one item", 1, 0},
		{"many batches", 500, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := generator.Start(t.Context(), generator.Options{Capacity: tt.capacity}, upTo(tt.items))
			var got []int
			for item, err := range s.All() {
				if err != nil {
					t.Fatalf("All yielded error %v, want none", err)
				}
				got = append(got, item)
			}
			if want := seq(1, tt.items); !slices.Equal(got, want) {
				t.Errorf("All yielded %v, want %v", got, want)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close() after the loop = %v, want nil", err)
			}
		})
	}
}

func TestStreamAllEndsWithOneErrorPair(t *testing.T) {
	tests := []struct {
		name     string
		producer generator.Func[int]
		check    func(error) bool
	}{
		{
			name: "producer error",
			producer: func(_ context.Context, yield func(int) error) error {
				if err := yieldAll(yield, 1, 2); err != nil {
					return err
				}
				return errBoom
			},
			check: func(err error) bool { return err == errBoom },
		},
		{
			name: "producer panic",
			producer: func(_ context.Context, yield func(int) error) error {
				if err := yieldAll(yield, 1, 2); err != nil {
					return err
				}
				panic("kaboom")
			},
			check: func(err error) bool {
				var pe *generator.PanicError
				return errors.As(err, &pe) && pe.Value == "kaboom"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := generator.Start(t.Context(), generator.Options{Capacity: 1}, tt.producer)
			type pair struct {
				item int
				err  error
			}
			var got []pair
			for item, err := range s.All() {
				got = append(got, pair{item, err})
			}
			if len(got) != 3 {
				t.Fatalf("All yielded %v, want 1, 2 and then one error pair", got)
			}
			for i, p := range got[:2] {
				if p.item != i+1 || p.err != nil {
					t.Errorf("pair %d = (%d, %v), want (%d, nil)", i, p.item, p.err, i+1)
				}
			}
			if last := got[2]; last.item != 0 || !tt.check(last.err) {
				t.Errorf("last pair = (%d, %v), want the zero item with the stream's error", last.item, last.err)
			}
		})
	}
}

func TestStreamAllBreakClosesAndJoins(t *testing.T) {
	tests := []struct {
		name       string
		breakAfter int
	}{
		{"break at the first item", 1},
		{"break after several batches", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const producers = 3
				var (
					returned  atomic.Int64
					closedErr atomic.Int64 // producers whose yield failed with ErrClosed
				)
				var funcs []generator.Func[int]
				for i := range producers {
					funcs = append(funcs, func(_ context.Context, yield func(int) error) error {
						defer func() {
							time.Sleep(time.Duration(i+1) * time.Second) // slow clean-up
							returned.Add(1)
						}()
						for {
							if err := yield(i); err != nil {
								if errors.Is(err, generator.ErrClosed) {
									closedErr.Add(1)
								}
								return err
							}
						}
					})
				}
				s := generator.Start(t.Context(), generator.Options{Capacity: 2}, funcs...)
				n := 0
				for _, err := range s.All() {
					if err != nil {
						t.Fatalf("All yielded error %v", err)
					}
					if n++; n == tt.breakAfter {
						break
					}
				}
				if got := returned.Load(); got != producers {
					t.Fatalf("after the loop, %d of %d producers had returned", got, producers)
				}
				if got := closedErr.Load(); got != producers {
					t.Errorf("%d of %d producers saw yield fail with ErrClosed", got, producers)
				}
			})
		})
	}
}

// TestStreamNextUntil: NextUntil gives up when stop fires, with an empty
// batch and no error, and the stream goes on; otherwise it is Next.
func TestStreamNextUntil(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		proceed := make(chan struct{})
		s := generator.Start(t.Context(), generator.Options{}, func(ctx context.Context, yield func(int) error) error {
			<-proceed
			return yield(7)
		})
		defer s.Close()
		start := time.Now()
		batch, err := s.NextUntil(nil, time.After(time.Second))
		if len(batch) != 0 || err != nil || time.Since(start) != time.Second {
			t.Fatalf("NextUntil = %v, %v after %v; want nothing, nil after 1s", batch, err, time.Since(start))
		}
		close(proceed)
		batch, err = s.NextUntil(batch, time.After(time.Hour))
		if !slices.Equal(batch, []int{7}) || err != nil {
			t.Fatalf("NextUntil = %v, %v; want [7], nil", batch, err)
		}
		if _, err := s.NextUntil(batch, time.After(time.Hour)); err != io.EOF {
			t.Fatalf("at the end NextUntil returned %v, want io.EOF", err)
		}
	})
}
