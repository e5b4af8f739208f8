package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ginstream/ginstream/sse"
)

// run is a run of this instance: its events' hub, what is known of it in
// memory (more up to date than its record in a shared store, whose
// progress is written at most once per lease renewal) and how to stop it.
type run struct {
	id, topic   string
	key, client string
	hub         sse.Hub
	own         *sse.MemHub // the run's own hub, if the Manager has no Hub
	stop        context.CancelCauseFunc
	ended       chan struct{} // closed once the run has ended and its end event is published

	mu        sync.Mutex
	info      Info
	first     string
	published int       // events published, progress included
	finished  bool      // no more events
	end       sse.Frame // the end event, as published; its id is ""
}

// errReservedName fails a run whose producer yields an event named
// sse.EventEnd: only the run's final event may have that name, since
// clients stop at it.
var errReservedName = fmt.Errorf("runs: a run may not yield an event named %q", sse.EventEnd)

// errFinished is what yield returns once the run has ended.
var errFinished = errors.New("runs: run ended")

// yield returns the function through which the run's producer publishes
// its events; ctx is the run's context, maxItems the bound of events.
func (r *run) yield(ctx context.Context, maxItems int) func(sse.Event) error {
	return func(e sse.Event) error {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if e.Name == sse.EventEnd {
			return errReservedName
		}
		r.mu.Lock() // one event at a time, in the order of their ids
		defer r.mu.Unlock()
		switch {
		case r.finished:
			return errFinished
		case r.published >= maxItems:
			r.stop(ErrTooManyItems)
			return ErrTooManyItems
		}
		e.ID = ""
		if _, err := r.hub.Publish(ctx, r.topic, e); err != nil {
			return fmt.Errorf("runs: publish: %w", err)
		}
		r.published++
		if e.Name != EventProgress {
			r.info.Items++
		} else if p, ok := parseProgress(e.Data); ok {
			r.info.Progress = &p
		}
		return nil
	}
}

// record returns what is known of the run, as a Record.
func (r *run) record() Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return clone(Record{Info: r.info, First: r.first, IdempotencyKey: r.key, Client: r.client})
}

// snapshot returns the run's Info.
func (r *run) snapshot() Info { return r.record().Info }

// close stops the run's events and returns its Info as it ends: in state,
// with msg, at now. The run is seen running until setEnd, once the Store
// has decided how it ended.
func (r *run) close(state State, msg string, now time.Time) Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finished = true
	info := clone(Record{Info: r.info}).Info
	info.State, info.Message, info.Ended = state, msg, now
	return info
}

// setEnd records how the run ended, and the end event that says so (the
// zero Frame if this instance did not publish it), and wakes those who
// wait for the end.
func (r *run) setEnd(info Info, end sse.Frame) {
	r.mu.Lock()
	r.info, r.end = info, end
	r.mu.Unlock()
	close(r.ended)
}

// endFrame returns the run's end event as published, if it has ended and
// this instance published it.
func (r *run) endFrame() (sse.Frame, bool) {
	select {
	case <-r.ended:
	default:
		return sse.Frame{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.end, r.end.Event().ID != ""
}

// endEvent is the final event of a run that ended as info says.
func endEvent(info Info) sse.Event {
	data, _ := json.Marshal(info) // an Info always encodes
	return sse.Event{Name: sse.EventEnd, Data: string(data)}
}
