package topiclog

import (
	"slices"
	"testing"
)

// TestWaiters: waiters keep the order they joined in across leaves and
// the compactions that drop the holes left, and a wake calls each one
// still there, in that order.
func TestWaiters(t *testing.T) {
	var ws waiters
	var (
		all   []*waiter
		woken []int // the numbers of the waiters woken, in order
	)
	join := func(n int) *waiter { return ws.join(func() { woken = append(woken, n) }) }
	for i := range 10 {
		all = append(all, join(i))
	}
	left := map[int]bool{0: true, 2: true, 3: true, 5: true, 6: true, 9: true}
	for i := range all {
		if left[i] {
			ws.leave(all[i])
		}
	}
	var want []*waiter
	for i, w := range all {
		if !left[i] {
			want = append(want, w)
		}
	}
	var got []*waiter
	for i, w := range ws.list {
		if w == nil {
			continue
		}
		if w.index != i {
			t.Errorf("waiter at %d has index %d", i, w.index)
		}
		got = append(got, w)
	}
	if len(got) != len(want) {
		t.Fatalf("%d waiters listed, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("waiter %d out of order", i)
		}
	}
	if len(ws.list) > 2*len(want) {
		t.Errorf("list of %d for %d waiters: holes not compacted", len(ws.list), len(want))
	}
	late := join(10)
	if ws.list[len(ws.list)-1] != late || late.index != len(ws.list)-1 {
		t.Errorf("a waiter that joins after the compaction is not last")
	}

	ws.wake()
	ws.wake()
	once := []int{1, 4, 7, 8, 10} // those that did not leave, in the order they joined
	if want := append(slices.Clone(once), once...); !slices.Equal(woken, want) {
		t.Errorf("two wakes called waiters %v, want %v", woken, want)
	}
	for _, w := range append(want, late) {
		ws.leave(w)
	}
	if n := len(ws.list) - ws.holes; n != 0 {
		t.Errorf("%d waiters listed after all left", n)
	}
}
