// Package nowait lets a sink learn that the producer it runs never waits
// between its items, so that it can drop what it keeps for producers that
// may: a flush timer, and a lock around every item that the timer needs.
//
// A sink that runs a producer on its own goroutine offers, in the
// producer's context ([Offer]); one of the library's producers that never
// waits except inside yield (generator.Count without an interval,
// generator.Slice) claims the offer before its first item ([Claim]). Only
// the producer the sink called can claim it: a producer called by another
// one, which may wait between the calls, or yield from goroutines of its
// own, finds its claim refused, and the sink keeps its timer. A claim that
// is not made, or refused, costs the stream nothing but the speed.
package nowait

import (
	"context"
	"reflect"
	"runtime"
)

// key is the context key of an offer.
type key struct{}

// offer is what a sink puts in its producer's context.
type offer struct {
	producer uintptr // entry of the producer's function
	accept   func()  // called on the producer's goroutine when it claims
	claimed  bool
}

// Offer returns ctx carrying an offer to producer, a function value: if
// producer claims it (see [Claim]), accept is called, once, on producer's
// goroutine, from within its call to Claim. The sink must call producer
// itself, with the returned context, on the goroutine that then runs it,
// and must not call yield for it from elsewhere.
func Offer(ctx context.Context, producer any, accept func()) context.Context {
	v := reflect.ValueOf(producer)
	if v.Kind() != reflect.Func || v.IsNil() {
		return ctx
	}
	return context.WithValue(ctx, key{}, &offer{producer: v.Pointer(), accept: accept})
}

// Claim tells the sink that called the calling producer, if it made an
// offer, that the producer will not wait between items except inside
// yield, and will call yield only from the goroutine that called it, until
// it returns. It must be called by the producer function itself (not a
// function it calls) before its first item. A claim by any other function
// than the one the sink called is ignored.
//
//go:noinline
func Claim(ctx context.Context) {
	o, _ := ctx.Value(key{}).(*offer)
	if o == nil {
		return
	}
	pc, _, _, ok := runtime.Caller(1)
	if !ok {
		return
	}
	// The entry of the function holding pc, the outermost one where the
	// caller was inlined: the producer's own function when the producer
	// claims, since a function value's call is never inlined.
	if f := runtime.FuncForPC(pc); f == nil || f.Entry() != o.producer || o.claimed {
		return // claimed is only ever read and set on the producer's goroutine
	}
	o.claimed = true
	o.accept()
}
