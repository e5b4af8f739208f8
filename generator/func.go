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
//
// yield does not copy the item: it is buffered as it is until the consumer
// has encoded it, which may be after yield has returned. A producer must
// therefore not change an item it has yielded, nor anything the item points
// to: yielding the same []byte, slice or map again after refilling it
// corrupts the output (reading "abc" through one reused 1-byte buffer
// would send "ccc"). Yield a new slice for each item, as [ReadChunks] does.
type Func[T any] func(ctx context.Context, yield func(T) error) error

// Call calls f with ctx and yield, and turns a panic in f into a
// [*PanicError] carrying the panic's value and stack, as [Start] does for
// the producers it runs. Consumers that run a producer themselves, on their
// own goroutine, call it through Call so that a panic is reported where the
// stream is owned instead of crashing the process.
func (f Func[T]) Call(ctx context.Context, yield func(T) error) (err error) {
	defer recoverPanic(&err)
	return f(ctx, yield)
}

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
			g.Go(func() error { return p.Call(ctx, guarded) })
		}
		return g.Wait()
	}
}
