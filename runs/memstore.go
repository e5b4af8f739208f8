package runs

import (
	"context"
	"sync"
	"time"
)

// MemStore is a Store that keeps records in memory, for the Managers of one
// process. The zero value is ready to use; a MemStore is safe for
// concurrent use. A Manager without a Store uses one of its own.
type MemStore struct {
	mu   sync.Mutex
	runs map[string]Record
	keys map[string]string // idempotency key → run id
}

var _ Store = (*MemStore)(nil)

// Create adds rec, or returns the record with rec's idempotency key; see
// Store.Create.
func (s *MemStore) Create(_ context.Context, rec Record) (Record, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.IdempotencyKey != "" {
		if id, ok := s.keys[rec.IdempotencyKey]; ok {
			return clone(s.runs[id]), false, nil
		}
	}
	if _, ok := s.runs[rec.ID]; ok {
		return Record{}, false, ErrIDTaken
	}
	if s.runs == nil {
		s.runs = make(map[string]Record)
		s.keys = make(map[string]string)
	}
	rec = clone(rec)
	s.runs[rec.ID] = rec
	if rec.IdempotencyKey != "" {
		s.keys[rec.IdempotencyKey] = rec.ID
	}
	return clone(rec), true, nil
}

// Get returns the record of run id, or ErrNotFound.
func (s *MemStore) Get(_ context.Context, id string) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.runs[id]
	if !ok {
		return Record{}, ErrNotFound
	}
	return clone(rec), nil
}

// Update changes the record of run id under the store's lock; see
// Store.Update. change must not call the store.
func (s *MemStore) Update(_ context.Context, id string, change func(*Record) error) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.runs[id]
	if !ok {
		return Record{}, ErrNotFound
	}
	rec := clone(old)
	if err := change(&rec); err != nil {
		return Record{}, err
	}
	rec.ID = id // a record stays under its id
	rec = clone(rec)
	if old.IdempotencyKey != rec.IdempotencyKey {
		delete(s.keys, old.IdempotencyKey)
		if rec.IdempotencyKey != "" {
			s.keys[rec.IdempotencyKey] = id
		}
	}
	s.runs[id] = rec
	return clone(rec), nil
}

// Forget removes the records of runs that ended before t, and their
// idempotency keys.
func (s *MemStore) Forget(_ context.Context, t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, rec := range s.runs {
		if rec.State.Ended() && rec.Ended.Before(t) {
			delete(s.runs, id)
			if s.keys[rec.IdempotencyKey] == id {
				delete(s.keys, rec.IdempotencyKey)
			}
		}
	}
	return nil
}

// clone returns a copy of rec that shares no memory with it.
func clone(rec Record) Record {
	if rec.Progress != nil {
		p := *rec.Progress
		rec.Progress = &p
	}
	return rec
}
