package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// errBadID refuses a Spec.ID that is not a run id.
var errBadID = sink.WithStatus(http.StatusBadRequest, errors.New("runs: a run id is 1 to 128 letters, digits, '-', '_', '.' or '~'"))

// Start starts a run of producer, or, for a Spec whose IdempotencyKey was
// seen before, returns the run started with it and created false (producer
// is then not called). The run's producer runs on a goroutine of the
// Manager's with a context that ends when the run is cancelled, times out
// or the Manager closes; what it yields is published to the run's topic,
// and events named EventProgress also set the run's progress. Its error,
// if any, fails the run: the client is told the message of an error with a
// 4xx status (sink.StatusOf), otherwise only the status text ("Internal
// Server Error"), and the error is logged with the run's id. A producer
// may not yield an event named sse.EventEnd, which would end its clients'
// streams early: that fails the run.
//
// An idempotency key names its run for as long as the run's record is
// kept (see Retention), so it should be unguessable, such as a random
// UUID. A repeated key is answered even when the bounds would refuse a new
// run, if the run it started is this instance's.
//
// Start returns ErrClosed after Close, ErrTooMany or ErrClientBusy over a
// bound, ErrIDTaken for a Spec.ID in use, an error with status 400 for a
// Spec.ID that is not 1 to 128 of the characters a URL keeps as they are
// (letters, digits, '-', '_', '.', '~'), and the Store's or the Hub's
// errors.
func (m *Manager) Start(spec Spec, producer generator.Func[sse.Event]) (info Info, created bool, err error) {
	if producer == nil {
		panic("runs: Start with a nil producer")
	}
	m.init()
	id := spec.ID
	switch {
	case id == "":
		id = newID()
	case !validID(id):
		return Info{}, false, errBadID
	}
	if r := m.byKey(spec.IdempotencyKey); r != nil {
		return r.snapshot(), false, nil // a key seen here before
	} else if err := m.admitted(spec); err != nil {
		return Info{}, false, err
	}
	started := false
	defer func() {
		if !started {
			m.release(spec.Client)
		}
	}()

	ctx, cancel := m.storeContext()
	defer cancel()
	now := time.Now()
	rec, created, err := m.store.Create(ctx, Record{
		Info:  Info{ID: id, Kind: spec.Kind, State: Running, Started: now},
		Owner: m.instance, Lease: now, IdempotencyKey: spec.IdempotencyKey, Client: spec.Client,
	})
	if err != nil || !created {
		return rec.Info, false, err
	}
	r := &run{id: id, topic: topic(id), key: spec.IdempotencyKey, client: spec.Client, hub: m.Hub, info: rec.Info, ended: make(chan struct{})}
	if r.hub == nil {
		r.own = m.ownHub()
		r.hub = r.own
	}
	// The start event: attaching from the start subscribes after it.
	data, _ := json.Marshal(rec.Info)
	first, err := r.hub.Publish(ctx, r.topic, sse.Event{Name: "run", Data: string(data)})
	if err == nil {
		_, err = m.store.Update(ctx, id, func(rec *Record) error {
			rec.First = first.ID
			return nil
		})
	}
	if err != nil {
		err = fmt.Errorf("runs: start %s: %w", id, err)
		m.abandon(r, err)
		return Info{}, false, err
	}
	r.first = first.ID

	runCtx, stop := context.WithCancelCause(m.base)
	runCtx, stopClock := context.WithTimeoutCause(runCtx, m.maxDuration(), ErrMaxDuration)
	r.stop = func(cause error) { stop(cause); stopClock() }
	m.mu.Lock()
	m.runs[id] = r // before Close takes them: Close waits for this run
	if r.key != "" {
		m.keys[r.key] = r
	}
	m.mu.Unlock()
	started = true
	go m.supervise(runCtx, r, producer)
	return r.snapshot(), true, nil
}

// validID reports whether id may name a run.
func validID(id string) bool {
	if len(id) > 128 {
		return false
	}
	return id != "" && strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~") == ""
}

// ownHub returns a hub for one run, when the Manager has no Hub: it keeps
// every event of the run, for as long as the run may be attached to, and
// lets a client fall behind by as many (a subscriber is only a position in
// the events kept, so that costs nothing; a client that stops reading is
// ended by the stall timeout instead, and resumes).
func (m *Manager) ownHub() *sse.MemHub {
	keep := m.maxItems() + 2 // with the start and end events
	return &sse.MemHub{
		Replay:    keep,
		ReplayAge: m.maxDuration() + m.retention() + time.Minute, // the keeper's sweep comes later
		Buffer:    keep,
		Policy:    sse.Disconnect,
	}
}

// byKey returns the run of this instance started with the idempotency
// key, if there is one.
func (m *Manager) byKey(key string) *run {
	if key == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	return m.keys[key]
}

// admitted takes a slot for a new run of spec's client, or returns why it
// cannot: ErrClosed, ErrTooMany, ErrClientBusy. A slot taken is given back
// by release.
func (m *Manager) admitted(spec Spec) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return ErrClosed
	case m.running >= m.maxRunning():
		return ErrTooMany
	case spec.Client != "" && m.perClient[spec.Client] >= m.maxPerClient():
		return ErrClientBusy
	}
	m.running++
	if spec.Client != "" {
		m.perClient[spec.Client]++
	}
	m.wg.Add(1)
	if !m.keeping {
		m.keeping = true
		m.wg.Add(1)
		go m.keep()
	}
	return nil
}

// release gives back the slot of a run of client.
func (m *Manager) release(client string) {
	m.mu.Lock()
	m.running--
	if client != "" {
		if m.perClient[client]--; m.perClient[client] == 0 {
			delete(m.perClient, client)
		}
	}
	m.mu.Unlock()
	m.wg.Done()
}

// abandon records a run that could not be started as failed.
func (m *Manager) abandon(r *run, err error) {
	m.logger().Error("runs: run failed to start", "run", r.id, "error", err)
	ctx, cancel := m.storeContext()
	defer cancel()
	now := time.Now()
	_, _ = m.store.Update(ctx, r.id, func(rec *Record) error {
		rec.State, rec.Message, rec.Ended = Failed, http.StatusText(http.StatusInternalServerError), now
		return nil
	})
}

// storeContext returns the context of the Manager's own calls to the Store,
// which give up after a Lease.
func (m *Manager) storeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), m.lease())
}

// supervise runs the producer of r and ends r when the producer returns or
// r's context ends, whichever comes first; it returns once the producer
// has returned.
func (m *Manager) supervise(ctx context.Context, r *run, producer generator.Func[sse.Event]) {
	defer m.release(r.client)
	returned := make(chan error, 1)
	go func() { returned <- producer.Call(ctx, r.yield(ctx, m.maxItems())) }()
	var err error
	select {
	case err = <-returned:
		returned <- err // for the wait below
	case <-ctx.Done():
	}
	state, msg := m.outcome(ctx, r.id, err)
	m.finish(r, state, msg)
	r.stop(errFinished)
	<-returned
}

// outcome says how a run whose producer returned err (or has not yet
// returned, when ctx is done) ends.
func (m *Manager) outcome(ctx context.Context, id string, err error) (State, string) {
	if ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errCancelled), errors.Is(cause, errClosing):
			return Cancelled, ""
		case errors.Is(cause, ErrMaxDuration), errors.Is(cause, ErrTooManyItems), errors.Is(cause, ErrLeaseLost):
			return Failed, cause.Error()
		}
	}
	if err == nil {
		return Completed, ""
	}
	code := sink.StatusOf(err)
	if code >= 400 && code < 500 {
		m.logger().Info("runs: run failed", "run", id, "status", code, "error", err)
		return Failed, oneLine(err.Error())
	}
	m.logger().Error("runs: run failed", "run", id, "status", code, "error", err)
	return Failed, http.StatusText(code)
}

// oneLine replaces control characters in s with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// finish ends r in state with msg: it records the end in the Store, unless
// another instance has ended the run meanwhile, and then publishes the end
// event. Only the one that moves a record from running to an end publishes
// an end event, so that a run has exactly one.
func (m *Manager) finish(r *run, state State, msg string) {
	final := r.close(state, msg, time.Now())
	ctx, cancel := m.storeContext()
	defer cancel()
	rec, err := m.store.Update(ctx, r.id, func(rec *Record) error {
		if rec.State.Ended() {
			return errNotRunning
		}
		rec.Info = final
		rec.Lease = final.Ended
		return nil
	})
	switch {
	case errors.Is(err, errNotRunning):
		if rec, err = m.store.Get(ctx, r.id); err == nil {
			final = rec.Info
		}
		r.setEnd(final, sse.Frame{}) // its end event came from the other instance
		return
	case err != nil:
		// Clients must not wait for an end that never comes: tell them.
		m.logger().Error("runs: recording the end of a run", "run", r.id, "error", err)
	}
	e, err := r.hub.Publish(ctx, r.topic, endEvent(final))
	if err != nil {
		m.logger().Error("runs: publishing the end of a run", "run", r.id, "error", err)
		r.setEnd(final, sse.Frame{})
		return
	}
	f, _ := sse.NewFrame(e) // published, so framable
	r.setEnd(final, f)
}

// errNotRunning stops an update of a record whose run has ended.
var errNotRunning = errors.New("runs: run not running")

// errCancelled is the cause with which Cancel ends a run.
var errCancelled = errors.New("runs: run cancelled")
