package topiclog

import "sync"

// waiters are the subscribers of a log, in the order they joined, each
// with a function that tells it the log has changed. A change wakes them in
// that order, which is about the order in which their connections' memory
// was allocated: a topic with thousands of subscribers wakes them for each
// item, and touching their memory in order rather than at random is the
// difference between finding it in the processor's caches and translation
// buffers and fetching it from memory (a quarter of the server's CPU per
// delivery, measured: docs/BENCHMARKS.md). A channel closed for everyone
// would wake them in the order they last went to wait, which the
// scheduler shuffles a little more with every item.
type waiters struct {
	mu    sync.Mutex
	list  []*waiter // in the order they joined; nil where one has left
	holes int       // nils in list
}

// waiter is one subscriber's place among a log's waiters.
type waiter struct {
	wake  func() // tells the subscriber the log has changed; never blocks
	index int    // in waiters.list
}

// join adds a subscriber, last.
func (ws *waiters) join(wake func()) *waiter {
	w := &waiter{wake: wake}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w.index = len(ws.list)
	ws.list = append(ws.list, w)
	return w
}

// leave removes w, keeping the others' order. The list is compacted once
// it is more than half holes, so that a topic whose subscribers come and
// go does not grow it.
func (ws *waiters) leave(w *waiter) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.list[w.index] = nil
	ws.holes++
	if ws.holes <= len(ws.list)/2 {
		return
	}
	kept := ws.list[:0]
	for _, other := range ws.list {
		if other != nil {
			other.index = len(kept)
			kept = append(kept, other)
		}
	}
	clear(ws.list[len(kept):])
	ws.list, ws.holes = kept, 0
}

// wake tells every waiter that the log has changed, in the order they
// joined.
func (ws *waiters) wake() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, w := range ws.list {
		if w != nil {
			w.wake()
		}
	}
}
