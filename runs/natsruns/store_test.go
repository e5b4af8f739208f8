package natsruns_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/internal/natstest"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/runs/natsruns"
	"github.com/ginstream/ginstream/runs/storetest"
)

// buckets makes every store of a test run use a bucket of its own.
var buckets atomic.Int64

// newBucket returns a bucket name no other store of this run uses.
func newBucket() string { return fmt.Sprintf("runs-%d", buckets.Add(1)) }

// TestStore runs the conformance suite that every Store passes, each
// store with a bucket of its own on one embedded server.
func TestStore(t *testing.T) {
	ns := natstest.Start(t)
	js := ns.Connect(t)
	storetest.Run(t, func(t *testing.T) runs.Store {
		return &natsruns.Store{JetStream: js, Bucket: newBucket(), Storage: jetstream.MemoryStorage}
	})
}
