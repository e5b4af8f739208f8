package runs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/internal/accept"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// Attach streams run id to the client: Server-Sent Events when its Accept
// header ranks text/event-stream above application/x-ndjson (resuming after sse.LastEventID),
// NDJSON otherwise (resuming after the query parameter "from"), from the
// run's first event when the client gives no id (or the id of an event
// before the run's first). A client first gets the run's latest progress,
// then the events, and the stream ends after the run's final EventEnd
// event; a client that resumes after that event gets it again. An unknown
// id is answered 404, a run past Retention 410, an id to resume from that
// is not a hub's (a decimal number) 400, and a closed Manager 503 with
// Retry-After.
//
// Event streams and NDJSON streams use Events' settings (sink.Config,
// retry, heartbeat: NDJSON has no heartbeats, and opens at once, as an
// event stream does). An NDJSON line is {"id":"…","event":"…","data":"…"},
// without "id" for the progress sent first, and without "event" for an
// event without a name ("message"). An NDJSON stream that ends without the
// end line was cut (the client left, stalled, or this instance closed while
// another runs the run): resume with ?from= the last id received.
//
// While a client is attached to a run of another instance (a shared Store
// and Hub), Attach reads the run's record every Lease/3; if the run's
// lease has lapsed, it ends the run as failed with ErrLeaseLost, and the
// client gets that end event, about Lease to Lease+Lease/3 after that
// instance's last renewal.
func (m *Manager) Attach(c *gin.Context, id string) sink.Report {
	m.init()
	c.Header("Vary", "Accept") // an event stream or NDJSON, as it says
	events := acceptsEvents(strings.Join(c.Request.Header.Values("Accept"), ","))
	from, param := c.Query("from"), `query parameter "from"`
	if events {
		from, param = sse.LastEventID(c), "Last-Event-ID"
	}
	if from != "" && !isEventID(from) {
		return m.refuse(c, sink.WithStatus(http.StatusBadRequest, fmt.Errorf("runs: %s %q is not an event id", param, cut(from))))
	}
	if m.isClosed() {
		c.Header("Retry-After", "2")
		return m.refuse(c, ErrClosed)
	}
	t, err := m.lookup(c.Request.Context(), id)
	if err != nil {
		return m.refuse(c, err)
	}
	follow := m.follow(t, from)
	if events {
		w := m.Events
		return w.StreamFrames(c, follow)
	}
	return m.streamNDJSON(c, follow)
}

// refuse answers a request that cannot attach.
func (m *Manager) refuse(c *gin.Context, err error) sink.Report {
	w := sink.Writer[[]byte]{Config: m.Events.Config}
	return w.Fail(c, err)
}

// target is a run as Attach and Cancel find it.
type target struct {
	rec Record
	r   *run // nil for a run of another instance
}

// lookup finds run id: ErrNotFound if it is not known, ErrGone if its
// Retention has passed.
func (m *Manager) lookup(ctx context.Context, id string) (target, error) {
	m.mu.Lock()
	t := target{r: m.runs[id]}
	m.mu.Unlock()
	if t.r != nil {
		t.rec = t.r.record()
	} else {
		rec, err := m.store.Get(ctx, id)
		if err != nil {
			return target{}, err
		}
		t.rec = rec
	}
	if t.rec.State.Ended() && time.Since(t.rec.Ended) > m.retention() {
		return target{}, ErrGone
	}
	return t, nil
}

// follow returns the producer of what a client attached to t gets, after
// the event id from.
func (m *Manager) follow(t target, from string) generator.Func[sse.Frame] {
	return func(ctx context.Context, yield func(sse.Frame) error) error {
		if p := t.rec.Progress; p != nil {
			if err := yield(progressFrame(*p)); err != nil {
				return err
			}
		}
		t, err := m.ready(ctx, t)
		switch {
		case err != nil:
			return err
		case t.rec.First == "": // it ended before its first event
			return yield(endFrame(t.rec.Info))
		case t.r != nil:
			if end, ok := t.r.endFrame(); ok && !before(from, end.Event().ID) {
				return yield(end) // the client has had every event
			}
		}
		if before(from, t.rec.First) {
			from = t.rec.First
		}
		return m.subscribe(ctx, t, from, yield)
	}
}

// ready waits until t's start event is published, which a client may
// attach before (Start creates the record first), and returns t then; or
// until the run has ended without it.
func (m *Manager) ready(ctx context.Context, t target) (target, error) {
	for wait := 5 * time.Millisecond; t.rec.First == "" && !t.rec.State.Ended(); wait = min(2*wait, m.lease()/3) {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return t, context.Cause(ctx)
		case <-timer.C:
		}
		if t.r == nil && time.Since(t.rec.Lease) > m.lease() {
			_, _ = m.endStale(ctx, t.rec.ID, Failed, ErrLeaseLost.Error())
		}
		var err error
		if t, err = m.lookup(ctx, t.rec.ID); err != nil {
			return t, err
		}
	}
	return t, nil
}

// errEndSent ends a subscription that has delivered its run's end event.
var errEndSent = errors.New("runs: end event sent")

// errInstanceClosed ends the subscriptions to runs of other instances when
// the Manager closes: an event stream ends with sse.EventShutdown, and its
// client reconnects (to another instance).
var errInstanceClosed = fmt.Errorf("runs: manager closed: %w", sse.ErrHubClosed)

// endMissing ends a subscription to a run that has ended, but whose end
// event has not come: the run's instance stopped before publishing it, or
// the client resumed from an id the hub did not know.
type endMissing struct{ info Info }

func (e *endMissing) Error() string { return "runs: run ended without its end event" }

// subscribe streams t's events after the event id from, up to its end
// event. With the Manager's Hub (shared, or of the caller's), a watcher
// beside the subscription reads the run's record every Lease/3: it ends a
// run whose instance stopped, ends the subscription when this Manager
// closes, for a run of another instance, and makes up an end event for a
// run that has ended when the subscription has been idle for as long
// without delivering one.
func (m *Manager) subscribe(ctx context.Context, t target, from string, yield func(sse.Frame) error) error {
	hub := m.Hub
	if t.r != nil {
		hub = t.r.hub
	}
	if hub == nil {
		return fmt.Errorf("runs: run %s runs on instance %s and Manager.Hub is not shared", t.rec.ID, t.rec.Owner)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		activity atomic.Int64 // odd while a frame is being sent
		watcher  sync.WaitGroup
	)
	if m.Hub != nil {
		watcher.Go(func() { m.watch(ctx, t, &activity, cancel) })
	}
	err := hub.Subscribe(ctx, topic(t.rec.ID), from, func(f sse.Frame) error {
		activity.Add(1)
		err := yield(f)
		activity.Add(1)
		if err == nil && f.Event().Name == sse.EventEnd {
			err = errEndSent
		}
		return err
	})
	cancel(nil)
	watcher.Wait()
	var missing *endMissing
	switch {
	case errors.Is(err, errEndSent):
		return nil
	case errors.As(err, &missing):
		return yield(endFrame(missing.info))
	}
	return err
}

// watch watches the run of a subscription; see subscribe.
func (m *Manager) watch(ctx context.Context, t target, activity *atomic.Int64, stop context.CancelCauseFunc) {
	tick := time.NewTicker(m.lease() / 3)
	defer tick.Stop()
	closing := m.done
	if t.r != nil {
		closing = nil // the run ends with this Manager, with its end event
	}
	seen := int64(-1) // the activity when the run was seen ended
	for {
		select {
		case <-ctx.Done():
			return
		case <-closing:
			stop(errInstanceClosed)
			return
		case <-tick.C:
		}
		rec := t.rec
		if t.r != nil {
			rec = t.r.record()
		} else {
			var err error
			if rec, err = m.store.Get(ctx, t.rec.ID); err != nil {
				continue // the client may leave, or the store come back
			}
			if rec.State == Running && time.Since(rec.Lease) > m.lease() {
				_, _ = m.endStale(ctx, rec.ID, Failed, ErrLeaseLost.Error())
				continue // its end event comes through the subscription
			}
		}
		if !rec.State.Ended() {
			continue
		}
		if n := activity.Load(); n%2 == 1 || n != seen {
			seen = n
			continue
		}
		stop(&endMissing{rec.Info})
		return
	}
}

// endFrame is an end event made up for a run that ended as info says,
// without an id.
func endFrame(info Info) sse.Frame {
	f, _ := sse.NewFrame(endEvent(info)) // its name is framable
	return f
}

// acceptsEvents reports whether an Accept header ranks text/event-stream
// above NDJSON, as handlers.WantsEventStream ranks it above text/plain:
// EventSource's "text/event-stream" does, curl's "*/*" does not.
func acceptsEvents(header string) bool {
	return accept.Quality(header, "text", "event-stream") > accept.Quality(header, "application", "x-ndjson")
}

// isEventID reports whether id is a hub's event id: a decimal number.
func isEventID(id string) bool {
	_, err := strconv.ParseUint(id, 10, 64)
	return err == nil && strings.Trim(id, "0123456789") == ""
}

// before reports whether the event id a comes before b; no id ("") comes
// before every id.
func before(a, b string) bool {
	if a == "" {
		return true
	}
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	return errA == nil && errB == nil && x < y
}

// cut shortens a value to at most 64 bytes for an error message.
func cut(v string) string {
	if len(v) > 64 {
		return v[:64] + "…"
	}
	return v
}
