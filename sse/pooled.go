package sse

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse/internal/topiclog"
)

// subscribePooled is Subscribe for a MemHub. A writer of the pool opens
// the stream and places the subscriber (opening goes deeper than the
// wait), while the handler's goroutine waits, a few frames below gin and
// writing nothing, for that and then for the subscription to end; the
// pool's writers write its events and, as the pool's schedule tells them
// (beats), its heartbeats. So the handler's goroutine keeps a 4 KiB
// stack, where one that writes through net/http needs 8, and the runtime,
// which starts goroutines at the average stack in use, starts net/http's
// background readers at 2 KiB. Only the stream's end (an end or shutdown
// event, the report) is written from the handler's goroutine.
func (w *EventWriter) subscribePooled(c *gin.Context, h *MemHub, topic string) sink.Report {
	var (
		st      *pooledStream
		refused sink.Report
	)
	eventWriters.call(func() { st, refused = w.openPooled(c, h, topic) })
	if st == nil {
		return refused
	}
	// The request's context tells when the client leaves; a write that
	// fails ends the delivery. The stream's own context is made only for
	// the clock of a MaxDuration: it would cost a child in the request's.
	ctx := c.Request.Context()
	if w.MaxDuration > 0 {
		ctx = st.o.Context()
	}
	select {
	case <-st.p.done:
	case <-ctx.Done():
		st.p.finish(context.Cause(ctx))
	}
	return st.close(ctx)
}

// pooledStream is an event stream subscribed to a MemHub, whose events
// the pool of writers writes.
type pooledStream struct {
	p     pooled
	o     *sink.OpenStream[Frame]
	es    eventStream // its silence, and whether the hub sent an EventEnd
	retry time.Duration
	hub   *MemHub
	name  string
	topic *topic // nil if it never joined
}

// openPooled opens the stream, sends its retry field, subscribes it to
// the topic and puts its heartbeats on the pool's schedule. It returns nil
// and the report if the stream was refused; otherwise a stream whose
// p.done is closed once the delivery is over (at once if it could not
// start).
func (w *EventWriter) openPooled(c *gin.Context, h *MemHub, name string) (*pooledStream, sink.Report) {
	retry := w.retry()
	o, refused := w.sinkWriter(retry).Open(c)
	if o == nil {
		return nil, refused
	}
	st := &pooledStream{o: o, retry: retry, hub: h, name: name, es: eventStream{silence: silence{yield: o.Yield}}}
	st.p = pooled{pool: eventWriters, es: &st.es, done: make(chan struct{})}
	if err := o.Yield(retryFrame(retry)); err != nil {
		st.p.finish(err)
		return st, sink.Report{}
	}
	if ctx := c.Request.Context(); ctx.Err() != nil {
		st.p.finish(context.Cause(ctx))
		return st, sink.Report{}
	}
	t, start, err := h.join(name, LastEventID(c))
	if err != nil {
		st.p.finish(err)
		return st, sink.Report{}
	}
	st.topic = t
	p := &st.p
	p.subscribe(t.log, start)
	if interval := w.heartbeatInterval(); interval > 0 {
		st.es.track(interval)
		p.pool.beats.add(p, clock()+interval)
	}
	p.pool.schedule(p) // the reset, the replay, and what came since it was placed
	return st, sink.Report{}
}

// close ends the stream once its delivery is over, on the handler's
// goroutine: it takes its heartbeats off the pool's schedule, leaves the
// topic, sends the end or shutdown event that is due (a shutdown only
// while ctx, the context the handler watched, is not done) and closes the
// stream.
func (st *pooledStream) close(ctx context.Context) sink.Report {
	st.p.pool.beats.remove(&st.p)
	err := st.p.end()
	if st.topic != nil {
		st.p.pool.detach()
		st.hub.leave(st.name, st.topic)
	}
	err = ending(ctx, err, st.es.ended.Load(), st.es.silence.send, st.retry)
	return st.o.Close(err)
}

// heartbeatInterval returns the heartbeat interval in force; zero for
// none.
func (w *EventWriter) heartbeatInterval() time.Duration {
	switch {
	case w.Heartbeat == 0:
		return DefaultHeartbeat
	case w.Heartbeat < 0:
		return 0
	}
	return w.Heartbeat
}

// The states of a pooled subscription.
const (
	pooledIdle       int32 = iota // up to date: its topic's next wake queues it
	pooledQueued                  // queued for a writer, or being written
	pooledWokenAgain              // being written, and woken since it began: written once more
)

// pooled is a subscription whose events the pool's writers take from its
// topic's log and yield, while its handler only waits for done.
type pooled struct {
	pool  *writers
	es    *eventStream // what it yields through
	state atomic.Int32
	beat  atomic.Bool // a heartbeat is due: sent, on its next run, if the stream is still silent
	once  sync.Once
	done  chan struct{} // closed once the delivery is over
	err   error         // why; set before done is closed

	mu       sync.Mutex // held while a writer takes and yields, and to detach
	cursor   *topiclog.Cursor[Frame]
	detached bool // the handler is done with it: no more yields

	beatSlot int // its index in its pool's beats plus one; 0 if it has no heartbeat scheduled
}

// subscribe places p in a topic's log at start, among its pool's
// attached subscriptions; p is then to be scheduled for its first run,
// which a wake before it does not do.
func (p *pooled) subscribe(log *topiclog.Log[Frame], start topiclog.Start[Frame]) {
	p.state.Store(pooledQueued)
	p.pool.attach()
	p.cursor = log.Attach(start, p.wake)
}

// finish ends the delivery with err, if it has not ended yet.
func (p *pooled) finish(err error) {
	p.once.Do(func() {
		p.err = err
		close(p.done)
	})
}

// wake is the cursor's wake function: it queues p for a writer unless it
// is queued already, or marks it to be written once more if a writer has
// it. It never blocks on a writer.
func (p *pooled) wake() {
	for {
		switch p.state.Load() {
		case pooledIdle:
			if p.state.CompareAndSwap(pooledIdle, pooledQueued) {
				p.pool.schedule(p)
				return
			}
		case pooledQueued:
			if p.state.CompareAndSwap(pooledQueued, pooledWokenAgain) {
				return
			}
		default:
			return
		}
	}
}

// run is what a writer does with p: it yields what p's topic has new for
// it, and a heartbeat if one is due, until up to date (then p waits,
// idle, for its next wake) or the delivery is over (then p is never
// queued again).
func (p *pooled) run() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.detached {
		p.state.Store(pooledQueued)
		if err := p.take(); err != nil {
			p.finish(err)
			return
		}
		if afterTakeHook != nil {
			afterTakeHook()
		}
		if p.state.CompareAndSwap(pooledQueued, pooledIdle) {
			return
		}
		// Woken while it yielded: more may have come after its last look.
	}
}

// take yields what p's topic has new for it, then a heartbeat if one is
// due and the stream is still silent. A panic under yield (in a
// middleware's response writer, say) ends the subscription with a
// *generator.PanicError, as it would a producer's, rather than the
// process: it runs on a writer of the pool, where no recover of gin's or
// the handler's is.
func (p *pooled) take() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &generator.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	if err := p.cursor.Take(p.es.send); err != nil {
		return err
	}
	if p.beat.Swap(false) {
		_, err = p.es.beat()
	}
	return err
}

// afterTakeHook, if set (by tests), runs after each look at the log that
// found a pooled subscription up to date, before it is set idle.
var afterTakeHook func()

// end detaches p once the delivery is over, waiting for a writer that has
// it, and returns why it ended.
func (p *pooled) end() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.detached = true
	if p.cursor != nil {
		p.cursor.Detach()
	}
	return p.err
}
