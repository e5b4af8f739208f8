// Package generator runs producer functions that feed one bounded buffer,
// the first half of a ginstream pipeline (generator → sink → HTTP response).
//
// A producer is a [Func]: it calls yield once per item and returns when it has
// no more. yield blocks while the buffer is full — that is backpressure: a
// consumer that falls behind slows its producers instead of growing memory —
// and returns an error once the consumer is gone, which the producer simply
// returns:
//
//	numbers := func(ctx context.Context, yield func(int) error) error {
//		for i := 1; i <= 100; i++ {
//			if err := yield(i); err != nil {
//				return err
//			}
//		}
//		return nil
//	}
//
// [Start] runs one or more producers as goroutines of an errgroup feeding one
// [Group]. The consumer receives items in batches with [Group.Next] (or
// ranges over them with [Group.All]) and always calls [Group.Close], which
// stops the producers and waits for them: every goroutine a Group starts has
// ended when Close returns.
//
// # Errors and panics
//
// The stream ends when every producer has returned. The first producer error
// cancels the others (through the context they were given) and is the error
// the consumer receives after the items produced before it. A panic in a
// producer is recovered with its stack and reported as a [*PanicError]; it
// never crashes the process.
//
// # Sources
//
// Ready producers cover the usual sources: [Slice], [Seq] and [Seq2] for
// values and iterators, [Count] for paced numbers, [ReadChunks] for the
// bytes of an io.Reader and [ReadLines] for its lines, [Follow] for a log
// file as tail -F follows it, [Rows] for a database/sql cursor read one row
// at a time, and [Merge] to fan several producers into one.
//
// # Items are not copied
//
// yield hands the item itself to the consumer, which may hold it until
// after yield has returned: a producer must not change an item once it has
// yielded it (see [Func]).
package generator
