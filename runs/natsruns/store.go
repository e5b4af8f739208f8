package natsruns

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse/natshub"
)

// DefaultBucket is the bucket of a Store whose Bucket is empty.
const DefaultBucket = "runs"

// requestTimeout bounds how long Forget waits for the next entry of the
// bucket from its watcher.
const requestTimeout = 10 * time.Second

// Store is a [runs.Store] whose records are kept in a JetStream key-value
// bucket, shared by every server process that uses the same bucket.
// JetStream must be set; the zero values of the other fields are
// documented defaults. The fields must not change once the store is in
// use. A Store is used by pointer and is safe for concurrent use; it has
// nothing to close.
//
// See the package documentation for the keys, how idempotency keys are
// claimed, what Forget costs, and what the store does when NATS goes
// away.
type Store struct {
	// JetStream is the client the store uses. It must not be nil. The
	// store does not close its connection: whoever made it does.
	JetStream jetstream.JetStream

	// Bucket names the key-value bucket: ASCII letters, digits, '-' and
	// '_'. Empty means DefaultBucket. Instances that share runs use the
	// same bucket.
	Bucket string

	// Storage is where a bucket the store creates keeps its records. The
	// zero value is jetstream.FileStorage, which survives a restart of
	// NATS.
	Storage jetstream.StorageType

	// Replicas is the number of copies of a bucket the store creates, in
	// a JetStream cluster. Zero means 1.
	Replicas int

	mu sync.Mutex
	kv jetstream.KeyValue // the bucket, once found
}

var _ runs.Store = (*Store)(nil)

// Open finds the store's bucket, making it if it does not exist. The
// store's methods do so when they first need it; call Open at start to
// learn then of a configuration NATS refuses or of NATS being
// unreachable. It returns an error matching natshub.ErrUnavailable if
// NATS cannot be used.
func (s *Store) Open(ctx context.Context) error {
	_, err := s.bucket(ctx)
	return err
}

// bucket returns the store's bucket, finding (or making) it the first
// time and after a failed request.
func (s *Store) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if s.JetStream == nil {
		return nil, errors.New("natsruns: Store.JetStream is nil")
	}
	if st := s.JetStream.Conn().Status(); st != nats.CONNECTED {
		return nil, fmt.Errorf("natsruns: %w: connection %s", natshub.ErrUnavailable, st)
	}
	s.mu.Lock()
	kv := s.kv
	s.mu.Unlock()
	if kv != nil {
		return kv, nil
	}
	name := s.Bucket
	if name == "" {
		name = DefaultBucket
	}
	kv, err := s.JetStream.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = s.JetStream.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "ginstream runs",
			History:     1,
			Storage:     s.Storage,
			Replicas:    max(s.Replicas, 1),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = s.JetStream.KeyValue(ctx, name) // another instance made it first
		}
	}
	if errors.Is(err, jetstream.ErrInvalidBucketName) {
		return nil, fmt.Errorf("natsruns: bucket %q: %w", name, err)
	}
	if err != nil {
		return nil, unavailable(ctx, "bucket "+name, err)
	}
	s.mu.Lock()
	s.kv = kv
	s.mu.Unlock()
	return kv, nil
}

// fail returns the error of a failed request to the bucket, and makes the
// next call look the bucket up again (it may have been deleted).
func (s *Store) fail(ctx context.Context, what string, err error) error {
	s.mu.Lock()
	s.kv = nil
	s.mu.Unlock()
	return unavailable(ctx, what, err)
}

// unavailable wraps an error of a JetStream request: the cause of ctx if
// it is done, otherwise natshub.ErrUnavailable and the error.
func unavailable(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return fmt.Errorf("natsruns: %s: %w: %w", what, natshub.ErrUnavailable, err)
}
