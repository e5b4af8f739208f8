package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is many Server-Sent Events clients of one stream, each on a
// connection and a goroutine of its own reading through a small buffer.
// Its goroutines are its own: start starts them, close ends and joins
// them; the clients' fields may be read only after close.
type fleet struct {
	addr, path string
	deadline   time.Time // no connection lasts longer
	base       time.Time // arrival times are measured from it

	ctx    context.Context // ends every connection
	cancel context.CancelFunc
	wg     sync.WaitGroup

	settled  atomic.Int64 // clients that have received a first block, or failed before it
	finished atomic.Int64 // clients whose stream has ended

	clients []client
}

// client is one client of a fleet: what it saw, written by its goroutine
// alone.
type client struct {
	seq      sequence
	first    int             // the index of the first event counted
	arrivals []time.Duration // of the events counted, in order, since the fleet's base
	err      error           // why its stream failed, or nil
}

// newFleet returns n clients of the stream at path of the server at addr,
// each checking its events with seq, none connected after deadline.
func newFleet(addr, path string, n int, seq sequence, deadline time.Time) *fleet {
	f := &fleet{addr: addr, path: path, deadline: deadline, clients: make([]client, n)}
	for i := range f.clients {
		f.clients[i].seq = seq
	}
	return f
}

// start starts every client's goroutine, at most dials connecting at once
// (dial, request, response head); each then reads its stream until its
// end, an error or close. start returns at once.
func (f *fleet) start(ctx context.Context, dials int) {
	f.ctx, f.cancel = context.WithDeadline(ctx, f.deadline)
	f.base = time.Now()
	sem := make(chan struct{}, dials)
	for i := range f.clients {
		f.wg.Go(func() {
			defer f.finished.Add(1)
			f.clients[i].run(f, sem)
		})
	}
}

// run connects the client, at most cap(sem) clients at once, and reads
// its stream.
func (c *client) run(f *fleet, sem chan struct{}) {
	sem <- struct{}{}
	conn, lines, err := connect(f.ctx, f.addr, f.path, true, 512)
	<-sem
	if err != nil {
		f.settled.Add(1)
		c.err = err
		return
	}
	defer conn.Close()
	settled := false
	err = readSSE(lines, func(ev event) error {
		at := time.Since(f.base)
		if !settled {
			settled = true
			f.settled.Add(1)
		}
		counted, err := c.seq.see(ev)
		if counted {
			if len(c.arrivals) == 0 {
				c.first = c.seq.next - 1
			}
			c.arrivals = append(c.arrivals, at)
		}
		return err
	})
	if !settled {
		f.settled.Add(1)
	}
	if err != nil && !errors.Is(f.ctx.Err(), context.Canceled) {
		c.err = err // not closed by close
	}
}

// waitReady returns once every client has received its first block (the
// retry field) or failed, or when ctx ends.
func (f *fleet) waitReady(ctx context.Context) error {
	return poll(ctx, func() bool { return f.settled.Load() == int64(len(f.clients)) })
}

// close closes every connection and joins the clients' goroutines. Calls
// after the first only wait.
func (f *fleet) close() {
	f.cancel()
	f.wg.Wait()
}

// arrival returns when the client received the event of index i, and
// whether it did.
func (c *client) arrival(i int) (time.Duration, bool) {
	if c.err != nil || i < c.first || i >= c.first+len(c.arrivals) {
		return 0, false
	}
	return c.arrivals[i-c.first], true
}

// check returns what is wrong with the client's stream, or nil.
func (c *client) check() error {
	if c.err != nil {
		return c.err
	}
	return c.seq.complete()
}

// pollEvery is how often poll checks.
const pollEvery = 10 * time.Millisecond

// poll returns nil once done returns true, or ctx's error when it ends.
func poll(ctx context.Context, done func() bool) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
