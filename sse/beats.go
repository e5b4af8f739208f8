package sse

import (
	"container/heap"
	"sync"
	"time"
)

// beats schedules the heartbeats of a pool's subscriptions on one timer,
// armed for the earliest due, rather than a timer each (0.1 KB per idle
// subscriber, and a goroutine, which writes through net/http, each time
// one fires). When a subscription's heartbeat is due, the subscription is
// woken with its beat flag set, and the writer that takes it sends the
// heartbeat if the stream is still silent: the pool's writers write the
// heartbeats, as they write the events.
type beats struct {
	mu    sync.Mutex
	due   beatQueue
	timer *time.Timer
	at    time.Duration // when the timer fires, a clock() reading, while armed
	armed bool
}

// add schedules p's first heartbeat at at, a clock() reading; p's
// eventStream has its interval set.
func (b *beats) add(p *pooled, at time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	heap.Push(&b.due, beatDue{at: at, p: p})
	b.arm()
}

// remove takes p's heartbeats off the schedule, if they are on it. A beat
// already taken off for p may still wake it.
func (b *beats) remove(p *pooled) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.beatSlot == 0 {
		return
	}
	heap.Remove(&b.due, p.beatSlot-1)
	if len(b.due) == 0 && b.armed {
		b.timer.Stop()
		b.armed = false
	}
}

// arm arms the timer for the earliest heartbeat due, unless it is armed
// for that time or earlier. b.mu must be held.
func (b *beats) arm() {
	if len(b.due) == 0 {
		return
	}
	at := b.due[0].at
	if b.armed && b.at <= at {
		return
	}
	b.at, b.armed = at, true
	if b.timer == nil {
		b.timer = time.AfterFunc(at-clock(), b.fire)
	} else {
		b.timer.Reset(at - clock())
	}
}

// fire wakes the subscriptions whose streams have been silent for their
// interval, with their beat flag set, and schedules the next heartbeat of
// every subscription it looked at: an interval after now for those woken,
// an interval after their last write for the others.
func (b *beats) fire() {
	var woken []*pooled
	b.mu.Lock()
	b.armed = false
	now := clock()
	for len(b.due) > 0 && b.due[0].at <= now {
		d := &b.due[0]
		es := d.p.es
		if silent := es.silent(now); silent >= es.interval {
			woken = append(woken, d.p)
			d.at = now + es.interval
		} else {
			d.at = now + es.interval - silent
		}
		heap.Fix(&b.due, 0)
	}
	b.arm()
	b.mu.Unlock()
	for _, p := range woken {
		p.beat.Store(true)
		p.wake()
	}
}

// beatDue is a subscription's next heartbeat.
type beatDue struct {
	at time.Duration // a clock() reading
	p  *pooled
}

// beatQueue is a heap of heartbeats, the earliest first; each
// subscription's beatSlot is its index in it plus one.
type beatQueue []beatDue

func (q beatQueue) Len() int           { return len(q) }
func (q beatQueue) Less(i, j int) bool { return q[i].at < q[j].at }
func (q beatQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].p.beatSlot, q[j].p.beatSlot = i+1, j+1
}

func (q *beatQueue) Push(x any) {
	d := x.(beatDue)
	d.p.beatSlot = len(*q) + 1
	*q = append(*q, d)
}

func (q *beatQueue) Pop() any {
	old := *q
	d := old[len(old)-1]
	old[len(old)-1] = beatDue{}
	*q = old[:len(old)-1]
	d.p.beatSlot = 0
	return d
}
