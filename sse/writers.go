package sse

import (
	"runtime"
	"sync"
	"time"
)

// writerPatience is how long the subscriptions queued for a writer may
// wait without any being taken while every writer is busy, before the pool
// adds a writer: busy writers that take none for that long are held by
// clients that do not read, and the other subscribers must not wait for
// them.
const writerPatience = time.Millisecond

// crowdedQueue is the length of the queue at which the pool adds a
// writer, up to one per processor: a topic's event wakes every one of its
// subscribers, and one writer would make their thousands of writes in
// turn, the last one's latency the sum of all, while a processor idles.
const crowdedQueue = 64

// writers is a pool of goroutines that write the events of subscriptions
// that have no goroutine of their own doing it (see pooled): a handler
// that waits without writing keeps a goroutine stack of 4 KiB instead of 8
// (a write through net/http needs more than a 4 KiB stack has), and the
// pool's few writers, whose stacks have grown once, make every write.
//
// A subscription is queued when its topic has something new for it, in
// the order its topic wakes them, and a writer takes one at a time. A
// writer blocked by a client that does not read holds up nothing else: if
// no queued subscription has been taken for writerPatience while no writer
// is idle, the pool adds one. So there are as many writers as clients
// holding one up (each until its stall deadline), plus those that keep up
// with the queue, and one idle at most; and while the queue is crowded
// (a fan-out to thousands), one writer more each time it grows past
// crowdedQueue, up to one per processor. The writers end once no
// subscription is attached: the pool owns them, and they end with the
// last subscription.
type writers struct {
	mu      sync.Mutex
	ready   sync.Cond // signalled when queue grows, or when attached falls to zero
	queue   []job     // queue[head:] wait for a writer
	head    int
	running int    // writer goroutines
	idle    int    // writers waiting on ready that no schedule has signalled
	taken   uint64 // subscriptions taken from the queue so far
	check   *time.Timer
	checked uint64 // taken when check was armed
	armed   bool
	// attached is the number of subscriptions attached: writers wait
	// for work while it is positive and end when it falls to zero.
	attached int

	beats beats // the subscriptions' heartbeats
}

// eventWriters is the pool of every pooled subscription of the process.
var eventWriters = newWriters()

// newWriters returns an empty pool.
func newWriters() *writers {
	ws := &writers{}
	ws.ready.L = &ws.mu
	return ws
}

// attach counts a subscription that will be scheduled.
func (ws *writers) attach() {
	ws.mu.Lock()
	ws.attached++
	ws.mu.Unlock()
}

// detach uncounts a subscription; with the last, the writers end.
func (ws *writers) detach() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.attached--
	if ws.attached == 0 {
		ws.idle = 0 // all woken, to end
		ws.ready.Broadcast()
	}
}

// job is what a writer does: write a pooled subscription's new events, or
// set up a stream (see call).
type job interface{ run() }

// schedule queues p for a writer. p must not be queued or being run.
func (ws *writers) schedule(p job) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.queue = append(ws.queue, p)
	switch {
	case ws.idle > 0:
		ws.idle-- // this one's: counted idle no more, though not yet running
		ws.ready.Signal()
	case ws.running == 0:
		ws.start()
	case len(ws.queue)-ws.head == crowdedQueue && ws.running < runtime.GOMAXPROCS(0):
		ws.start() // once each time the queue grows past crowdedQueue
		ws.arm()   // as below: the new writer too may be held up
	default:
		ws.arm()
	}
}

// start starts a writer. ws.mu must be held.
func (ws *writers) start() {
	ws.running++
	go ws.write()
}

// arm makes the pool check, after writerPatience, that its writers are
// taking queued subscriptions. ws.mu must be held.
func (ws *writers) arm() {
	if ws.armed {
		return
	}
	ws.armed, ws.checked = true, ws.taken
	if ws.check == nil {
		ws.check = time.AfterFunc(writerPatience, ws.inspect)
	} else {
		ws.check.Reset(writerPatience)
	}
}

// inspect adds a writer if none took a queued subscription since the check
// was armed and none is idle, and checks again while some are queued.
func (ws *writers) inspect() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.armed = false
	if ws.head == len(ws.queue) || ws.idle > 0 {
		return
	}
	if ws.taken == ws.checked {
		ws.start()
	}
	ws.arm()
}

// write is a writer: it takes queued subscriptions one at a time and
// writes what they have, until no subscription is attached, or until
// another writer is idle when it finds the queue empty.
func (ws *writers) write() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for {
		for ws.head == len(ws.queue) {
			if ws.attached == 0 || ws.idle > 0 {
				ws.running--
				return
			}
			ws.idle++ // until schedule or detach takes it back
			ws.ready.Wait()
		}
		p := ws.queue[ws.head]
		ws.queue[ws.head] = nil
		ws.head++
		switch {
		case ws.head == len(ws.queue):
			ws.queue, ws.head = ws.queue[:0], 0 // drained: the array is reused
		case ws.head > 1024 && 2*ws.head > len(ws.queue):
			// Never drained under a steady load: the taken part
			// must not grow with every append.
			n := copy(ws.queue, ws.queue[ws.head:])
			clear(ws.queue[n:])
			ws.queue, ws.head = ws.queue[:n], 0
		}
		ws.taken++
		ws.mu.Unlock()
		p.run()
		ws.mu.Lock()
	}
}

// call runs f on a writer of the pool and waits for it; a panic in f is
// raised again on the caller's goroutine. It is for a stream's set-up,
// which goes deeper than the wait that follows it: on a writer, whose
// stack has grown already, it takes no goroutine of its own either, whose
// deep stack would count, at a GC, in the average from which the runtime
// sizes the stacks of new goroutines (net/http's background readers).
func (ws *writers) call(f func()) {
	c := &call{f: f}
	c.done.Add(1)
	ws.attach()
	defer ws.detach()
	ws.schedule(c)
	c.done.Wait()
	if c.panicked != nil {
		panic(c.panicked)
	}
}

// call is a job of writers.call. Its caller waits on a WaitGroup rather
// than a channel: one object fewer for every stream set up.
type call struct {
	f        func()
	done     sync.WaitGroup
	panicked any
}

func (c *call) run() {
	defer c.done.Done()
	defer func() { c.panicked = recover() }()
	c.f()
}
