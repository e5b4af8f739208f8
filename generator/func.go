package generator

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// Func is a producer. It sends items by calling yield and returns nil when it
// has sent them all, or an error if it failed.
//
// yield blocks while the stream's buffer is full and returns a non-nil error
// once the stream is over for the producer: the consumer closed it, the
// context was cancelled, or another producer failed. The producer must then
// stop and should return that error. ctx is cancelled in the same cases, for
// producers that block on something other than yield.
//
// The yield functions this package passes are safe for concurrent use, so a
// producer may call yield from goroutines it starts, provided they end before
// it returns.
type Func[T any] func(ctx context.Context, yield func(T) error) error

// Merge returns a producer that runs the given producers concurrently,
// interleaving their items (fan-in). It returns when all of them have
// returned; the first error cancels the others and is returned.
//
// The order of items from different producers is unspecified; items from any
// one producer keep their order.
func Merge[T any](producers ...Func[T]) Func[T] {
	return func(ctx context.Context, yield func(T) error) error {
		g, ctx := errgroup.WithContext(ctx)
		// Once one producer has failed, the others' yield refuses items at
		// once, before Merge returns and the stream learns of the error.
		done := ctx.Done()
		guarded := func(item T) error {
			select {
			case <-done:
				return context.Cause(ctx)
			default:
				return yield(item)
			}
		}
		for _, p := range producers {
			g.Go(func() (err error) {
				defer recoverPanic(&err)
				return p(ctx, guarded)
			})
		}
		return g.Wait()
	}
}
