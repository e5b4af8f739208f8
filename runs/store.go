package runs

import (
	"context"
	"time"
)

// Record is what a Store keeps of a run: its Info and what the Manager
// needs to attach clients, enforce idempotency and watch the instance that
// runs it.
type Record struct {
	Info
	// First is the hub id of the event published just before the run's
	// first item: attaching from the start subscribes after it. Empty
	// until the run has published it.
	First string `json:"first,omitempty"`
	// Owner names the instance that runs the run (Manager.Instance).
	Owner string `json:"owner"`
	// Lease is when the owner last said it was running the run.
	Lease time.Time `json:"lease"`
	// CancelRequested asks the owner to cancel the run (a DELETE served
	// by another instance).
	CancelRequested bool   `json:"cancelRequested,omitempty"`
	IdempotencyKey  string `json:"idempotencyKey,omitempty"`
	Client          string `json:"client,omitempty"`
}

// A Store keeps the records of runs, shared by the Managers of every
// instance that serves them. MemStore keeps them in one process; package
// natsruns keeps them in a NATS JetStream key-value bucket. A Store must be
// safe for concurrent use.
type Store interface {
	// Create adds rec, unless a record with rec.IdempotencyKey (not empty)
	// exists: then it returns that record and false. It returns ErrIDTaken
	// if a record with rec.ID exists.
	Create(ctx context.Context, rec Record) (Record, bool, error)
	// Get returns the record of the run id, or ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// Update changes the record of the run id atomically: it calls change
	// with the current record and stores what change left in it, calling
	// change again if another update came in between. If change returns an
	// error, nothing is stored and Update returns that error.
	Update(ctx context.Context, id string, change func(*Record) error) (Record, error)
	// Forget removes the records of runs that ended before t, with their
	// idempotency keys.
	Forget(ctx context.Context, t time.Time) error
}
