package natsruns

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/runs"
)

// Get returns the record of run id, or an error matching runs.ErrNotFound;
// see [runs.Store]. It costs one request to JetStream.
func (s *Store) Get(ctx context.Context, id string) (runs.Record, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return runs.Record{}, err
	}
	rec, _, err := s.get(ctx, kv, id)
	return rec, err
}

// Update changes the record of run id atomically; see [runs.Store]. It
// reads the record and writes what change left in it on the revision it
// read, reading and calling change again if another update came in
// between. Change must not change the record's ID.
func (s *Store) Update(ctx context.Context, id string, change func(*runs.Record) error) (runs.Record, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return runs.Record{}, err
	}
	for {
		rec, rev, err := s.get(ctx, kv, id)
		if err != nil {
			return runs.Record{}, err
		}
		if err := change(&rec); err != nil {
			return runs.Record{}, err
		}
		body, err := encode(rec)
		if err != nil {
			return runs.Record{}, err
		}
		key, _ := runKey(id) // valid: get found it
		_, err = kv.Update(ctx, key, body, rev)
		if err == nil {
			return rec, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return runs.Record{}, s.fail(ctx, fmt.Sprintf("update run %.64q", id), err)
		}
	}
}

// get returns the record of run id and its revision.
func (s *Store) get(ctx context.Context, kv jetstream.KeyValue, id string) (runs.Record, uint64, error) {
	key, err := runKey(id)
	if err != nil {
		return runs.Record{}, 0, fmt.Errorf("natsruns: run %.64q: %w", id, runs.ErrNotFound)
	}
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return runs.Record{}, 0, fmt.Errorf("natsruns: run %.64q: %w", id, runs.ErrNotFound)
	}
	if err != nil {
		return runs.Record{}, 0, s.fail(ctx, fmt.Sprintf("get run %.64q", id), err)
	}
	rec, err := decode(e)
	return rec, e.Revision(), err
}
