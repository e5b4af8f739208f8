package runs

import (
	"context"
	"errors"
)

// Cancel cancels run id, whichever instance runs it, and returns its Info.
// Cancelling a run that has ended changes nothing. A run of this instance
// is cancelled at once, and Cancel returns its final Info once its end
// event is published (or, if ctx ends first, its Info then). A run of
// another instance is asked to cancel through the Store, and its instance
// cancels it at its next lease renewal, within Lease/3: Cancel returns its
// Info before that, still running. A run whose instance has stopped (its
// lease has lapsed) is ended as cancelled by Cancel itself.
func (m *Manager) Cancel(ctx context.Context, id string) (Info, error) {
	m.init()
	t, err := m.lookup(ctx, id)
	switch {
	case err != nil:
		return Info{}, err
	case t.r != nil:
		t.r.stop(errCancelled)
		select {
		case <-t.r.ended:
		case <-ctx.Done():
		}
		return t.r.snapshot(), nil
	case t.rec.State.Ended():
		return t.rec.Info, nil
	}
	rec, err := m.endStale(ctx, id, Cancelled, "")
	if !errors.Is(err, errNotStale) {
		return rec.Info, err
	}
	rec, err = m.store.Update(ctx, id, func(rec *Record) error {
		if rec.State.Ended() {
			return errNotRunning
		}
		rec.CancelRequested = true
		return nil
	})
	if errors.Is(err, errNotRunning) {
		rec, err = m.store.Get(ctx, id)
	}
	return rec.Info, err
}
