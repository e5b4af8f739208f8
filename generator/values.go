package generator

import (
	"context"
	"iter"
	"time"

	"github.com/ginstream/ginstream/internal/nowait"
)

// Slice returns a producer that yields the items of a slice in order.
func Slice[T any](items []T) Func[T] {
	return func(ctx context.Context, yield func(T) error) error {
		nowait.Claim(ctx) // it never waits but in yield
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
			nowait.Claim(ctx) // it never waits but in yield
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
