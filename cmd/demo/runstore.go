package main

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/runs/natsruns"
)

// openRunStore returns the store of the runs' records with -nats: the
// JetStream key-value bucket runBucket, shared by every instance, made if
// it does not exist. It fails if NATS refuses the bucket.
func openRunStore(ctx context.Context, js jetstream.JetStream) (*natsruns.Store, error) {
	store := &natsruns.Store{JetStream: js, Bucket: runBucket}
	ctx, cancel := context.WithTimeout(ctx, natsConnectTimeout)
	defer cancel()
	if err := store.Open(ctx); err != nil {
		return nil, fmt.Errorf("the bucket %s of the runs' records: %w", runBucket, err)
	}
	return store, nil
}
