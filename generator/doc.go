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
// [Stream]. The consumer receives items in batches with [Stream.Next] (or
// ranges over them with [Stream.All]) and always calls [Stream.Close], which
// stops the producers and waits for them: every goroutine a Stream starts has
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
// values and iterators, [Count] for paced numbers, [Lines] for the lines of
// an io.Reader, [Rows] for a database/sql cursor read one row at a time, and
// [Merge] to fan several producers into one.
package generator
