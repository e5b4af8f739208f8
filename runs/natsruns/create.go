package natsruns

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/runs"
)

// cleanupTimeout bounds the removal of the record of a Create that lost
// the race for its idempotency key, done even if the caller's context has
// ended.
const cleanupTimeout = 5 * time.Second

// Create adds rec, unless a run with rec.IdempotencyKey exists: it then
// returns that run's record and false; see [runs.Store]. It returns an
// error matching runs.ErrIDTaken if a run with rec.ID exists, and ErrID
// for an id empty or too long. It writes the record, then claims the
// idempotency key; the package documentation tells how racing instances
// settle on one run. It costs one request to JetStream, three with a key,
// more when it races.
func (s *Store) Create(ctx context.Context, rec runs.Record) (runs.Record, bool, error) {
	key, err := runKey(rec.ID)
	if err != nil {
		return runs.Record{}, false, err
	}
	body, err := encode(rec)
	if err != nil {
		return runs.Record{}, false, err
	}
	kv, err := s.bucket(ctx)
	if err != nil {
		return runs.Record{}, false, err
	}
	if rec.IdempotencyKey != "" {
		h, err := s.holder(ctx, kv, rec.IdempotencyKey)
		if err != nil || h.found() {
			return h.rec, false, err // a repeated request: nothing written
		}
	}
	rev, err := kv.Create(ctx, key, body)
	for attempt := 0; errors.Is(err, jetstream.ErrKeyExists) && attempt < 3; attempt++ {
		got, _, gerr := s.get(ctx, kv, rec.ID)
		switch {
		case errors.Is(gerr, runs.ErrNotFound):
			rev, err = kv.Create(ctx, key, body) // removed in between: try again
		case gerr != nil:
			return runs.Record{}, false, gerr
		case rec.IdempotencyKey != "" && got.IdempotencyKey == rec.IdempotencyKey:
			return got, false, nil // a repeated request whose key is being claimed
		default:
			return runs.Record{}, false, fmt.Errorf("natsruns: run %.64q: %w", rec.ID, runs.ErrIDTaken)
		}
	}
	if err != nil {
		return runs.Record{}, false, s.fail(ctx, fmt.Sprintf("create run %.64q", rec.ID), err)
	}
	if rec.IdempotencyKey == "" {
		return rec, true, nil
	}
	return s.claim(ctx, kv, rec, key, rev)
}

// claim claims rec's idempotency key for rec, whose record is written
// under key at revision rev. If another run holds the key, it removes
// rec's record and returns the other's.
func (s *Store) claim(ctx context.Context, kv jetstream.KeyValue, rec runs.Record, key string, rev uint64) (runs.Record, bool, error) {
	ikey := idemKey(rec.IdempotencyKey)
	for {
		_, err := kv.Create(ctx, ikey, []byte(rec.ID))
		if err == nil {
			return rec, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return runs.Record{}, false, s.lost(ctx, kv, rec.ID, key, rev, s.fail(ctx, "claim idempotency key", err))
		}
		h, err := s.holder(ctx, kv, rec.IdempotencyKey)
		switch {
		case err != nil:
			return runs.Record{}, false, s.lost(ctx, kv, rec.ID, key, rev, err)
		case h.found() && h.rec.ID == rec.ID:
			return rec, true, nil // already ours
		case h.found():
			if err := s.lost(ctx, kv, rec.ID, key, rev, nil); err != nil {
				return runs.Record{}, false, err
			}
			return h.rec, false, nil
		case h.entry != nil:
			// The key names a run that is gone: take it over, unless
			// another instance does first.
			_, err = kv.Update(ctx, ikey, []byte(rec.ID), h.entry.Revision())
			if err == nil {
				return rec, true, nil
			}
			if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				return runs.Record{}, false, s.lost(ctx, kv, rec.ID, key, rev, s.fail(ctx, "take over idempotency key", err))
			}
		}
		// The key changed in between: try again.
	}
}

// lost removes the record of run id, written under key at revision rev,
// whose Create failed or lost its idempotency key, and returns err (or
// the error of the removal). It removes it even if ctx has ended.
func (s *Store) lost(ctx context.Context, kv jetstream.KeyValue, id, key string, rev uint64, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if perr := kv.Purge(ctx, key, jetstream.LastRevision(rev)); perr != nil {
		return errors.Join(err, s.fail(ctx, fmt.Sprintf("remove run %.64q, which lost its idempotency key", id), perr))
	}
	return err
}

// holding is what an idempotency key says.
type holding struct {
	entry jetstream.KeyValueEntry // the key's entry; nil if the key is free
	rec   runs.Record             // the record of the run it names, if found
}

// found reports whether the key names a run that exists.
func (h holding) found() bool { return h.rec.ID != "" }

// holder looks up the run that an idempotency key names.
func (s *Store) holder(ctx context.Context, kv jetstream.KeyValue, idempotencyKey string) (holding, error) {
	e, err := kv.Get(ctx, idemKey(idempotencyKey))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return holding{}, nil
	}
	if err != nil {
		return holding{}, s.fail(ctx, "get idempotency key", err)
	}
	rec, _, err := s.get(ctx, kv, string(e.Value()))
	if errors.Is(err, runs.ErrNotFound) {
		return holding{entry: e}, nil
	}
	return holding{entry: e, rec: rec}, err
}
