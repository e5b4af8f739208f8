package runs

import (
	"context"
	"errors"
	"time"
)

// keep is the Manager's own goroutine, started with its first run and
// ended by Close: every Lease/3 it renews the leases of the runs running
// here, and forgets what Retention no longer keeps.
func (m *Manager) keep() {
	defer m.wg.Done()
	tick := time.NewTicker(m.lease() / 3)
	defer tick.Stop()
	var forgot time.Time
	for {
		select {
		case <-m.base.Done():
			return
		case <-tick.C:
		}
		m.mu.Lock()
		var owned []*run
		for _, r := range m.runs {
			owned = append(owned, r)
		}
		m.mu.Unlock()
		now := time.Now()
		for _, r := range owned {
			if rec := r.record(); !rec.State.Ended() {
				m.renew(r, rec.Info)
			} else if now.Sub(rec.Ended) > m.retention() {
				m.drop(r)
			}
		}
		if now.Sub(forgot) >= time.Minute {
			forgot = now
			m.forget(now)
		}
	}
}

// renew renews the lease of r, which is running as info says, and writes
// its items and progress with it (the only writes of them to the Store
// while it runs). It stops r if the Store says that r has ended (another
// instance found its lease lapsed) or that a client asked another
// instance to cancel it.
func (m *Manager) renew(r *run, info Info) {
	ctx, cancel := m.storeContext()
	defer cancel()
	now := time.Now()
	var cancelRequested bool
	_, err := m.store.Update(ctx, r.id, func(rec *Record) error {
		if rec.State.Ended() {
			return errNotRunning
		}
		rec.Lease, rec.Items, rec.Progress = now, info.Items, info.Progress
		cancelRequested = rec.CancelRequested
		return nil
	})
	switch {
	case errors.Is(err, errNotRunning):
		r.stop(ErrLeaseLost)
	case err != nil:
		m.logger().Warn("runs: renewing a lease", "run", r.id, "error", err)
	case cancelRequested:
		r.stop(errCancelled)
	}
}

// drop forgets r, a run of this instance whose Retention has passed, and
// its own hub if it has one.
func (m *Manager) drop(r *run) {
	m.mu.Lock()
	if m.runs[r.id] == r {
		delete(m.runs, r.id)
	}
	if r.key != "" && m.keys[r.key] == r {
		delete(m.keys, r.key)
	}
	m.mu.Unlock()
	if r.own != nil {
		r.own.Close()
	}
}

// forget removes from the Store the records of runs that ended longer ago
// than Retention and the time after it during which they are answered
// ErrGone.
func (m *Manager) forget(now time.Time) {
	ctx, cancel := m.storeContext()
	defer cancel()
	keep := m.retention() + max(m.retention(), goneFor)
	if err := m.store.Forget(ctx, now.Add(-keep)); err != nil {
		m.logger().Warn("runs: forgetting runs", "error", err)
	}
}

// errNotStale stops an update of a record whose lease has not lapsed.
var errNotStale = errors.New("runs: lease not lapsed")

// endStale ends run id, which another instance runs, in state with msg if
// its lease has lapsed (that instance stopped), and publishes its end
// event to the Hub. It returns errNotStale if the lease holds or the run
// has ended.
func (m *Manager) endStale(ctx context.Context, id string, state State, msg string) (Record, error) {
	now := time.Now()
	rec, err := m.store.Update(ctx, id, func(rec *Record) error {
		if rec.State.Ended() || now.Sub(rec.Lease) <= m.lease() {
			return errNotStale
		}
		rec.State, rec.Message, rec.Ended = state, msg, now
		return nil
	})
	if err != nil {
		return rec, err
	}
	if m.Hub != nil {
		if _, err := m.Hub.Publish(ctx, topic(id), endEvent(rec.Info)); err != nil {
			m.logger().Error("runs: publishing the end of a run whose instance stopped", "run", id, "error", err)
		}
	}
	return rec, nil
}
