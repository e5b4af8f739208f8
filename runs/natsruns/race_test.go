package natsruns_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/internal/natstest"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/runs/natsruns"
)

// record returns the record of a run just started by an instance.
func record(id, key, owner string) runs.Record {
	return runs.Record{
		Info:           runs.Info{ID: id, State: runs.Running, Started: time.Now()},
		Owner:          owner,
		Lease:          time.Now(),
		IdempotencyKey: key,
	}
}

// TestCreateRaceInstances: two instances, each with its own connection,
// create runs with the same idempotency key at the same moment, many
// times over: each time exactly one creates, both return its record, and
// the loser's record is gone.
func TestCreateRaceInstances(t *testing.T) {
	ns := natstest.Start(t)
	bucket := newBucket()
	a := &natsruns.Store{JetStream: ns.Connect(t), Bucket: bucket, Storage: jetstream.MemoryStorage}
	b := &natsruns.Store{JetStream: ns.Connect(t), Bucket: bucket, Storage: jetstream.MemoryStorage}
	stores := []*natsruns.Store{a, b}
	for round := range 50 {
		key := fmt.Sprintf("key-%d", round)
		var (
			got     [2]runs.Record
			created [2]bool
			wg      sync.WaitGroup
			start   = make(chan struct{})
		)
		for i, s := range stores {
			wg.Go(func() {
				<-start
				var err error
				got[i], created[i], err = s.Create(t.Context(), record(fmt.Sprintf("%s-%d", key, i), key, fmt.Sprint(i)))
				if err != nil {
					t.Errorf("round %d, instance %d: %v", round, i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if created[0] == created[1] {
			t.Fatalf("round %d: created %v: want exactly one", round, created)
		}
		winner, loser := 0, 1
		if created[1] {
			winner, loser = 1, 0
		}
		if got[loser].ID != got[winner].ID || got[winner].ID != fmt.Sprintf("%s-%d", key, winner) {
			t.Fatalf("round %d: instance %d created %q, instance %d returned %q", round, winner, got[winner].ID, loser, got[loser].ID)
		}
		lost := fmt.Sprintf("%s-%d", key, loser)
		for _, s := range stores {
			if _, err := s.Get(t.Context(), lost); !errors.Is(err, runs.ErrNotFound) {
				t.Fatalf("round %d: the loser's run %s: %v, want ErrNotFound", round, lost, err)
			}
		}
	}
}

// TestClaimAfterRecord: an instance claims an idempotency key only once
// its run's record can be read by any instance, so that whoever finds the
// key finds the run; and an instance that writes its record, is held up,
// and finds the key taken when it goes on returns the winner's run and
// removes its own.
func TestClaimAfterRecord(t *testing.T) {
	ns := natstest.Start(t)
	bucket := newBucket()
	other := &natsruns.Store{JetStream: ns.Connect(t), Bucket: bucket, Storage: jetstream.MemoryStorage}
	held := make(chan struct{})
	release := make(chan struct{})
	js := &hookJS{JetStream: ns.Connect(t), beforeCreate: func(key string) {
		if key[:5] != "idem." {
			return
		}
		// The key is about to be claimed: the run must be readable.
		if _, err := other.Get(context.Background(), "slow"); err != nil {
			t.Errorf("the key is claimed before the run's record is readable: %v", err)
		}
		close(held)
		<-release
	}}
	slow := &natsruns.Store{JetStream: js, Bucket: bucket, Storage: jetstream.MemoryStorage}

	type result struct {
		rec     runs.Record
		created bool
		err     error
	}
	done := make(chan result)
	go func() {
		rec, created, err := slow.Create(t.Context(), record("slow", "key", "slow"))
		done <- result{rec, created, err}
	}()
	<-held
	fast, created, err := other.Create(t.Context(), record("fast", "key", "fast"))
	if err != nil || !created {
		t.Fatalf("the other instance's Create: created %v, %v; want it created", created, err)
	}
	close(release)
	r := <-done
	if r.err != nil || r.created || r.rec.ID != fast.ID {
		t.Fatalf("the held-up Create returned %q, created %v, %v; want the other's run %q", r.rec.ID, r.created, r.err, fast.ID)
	}
	if _, err := other.Get(t.Context(), "slow"); !errors.Is(err, runs.ErrNotFound) {
		t.Fatalf("the held-up run's record: %v, want it removed (ErrNotFound)", err)
	}
}

// hookJS is a JetStream client whose key-value buckets call beforeCreate
// with the key of each Create.
type hookJS struct {
	jetstream.JetStream
	beforeCreate func(key string)
}

func (h *hookJS) KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	kv, err := h.JetStream.KeyValue(ctx, bucket)
	if err != nil {
		return nil, err
	}
	return &hookKV{KeyValue: kv, beforeCreate: h.beforeCreate}, nil
}

func (h *hookJS) CreateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := h.JetStream.CreateKeyValue(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &hookKV{KeyValue: kv, beforeCreate: h.beforeCreate}, nil
}

type hookKV struct {
	jetstream.KeyValue
	beforeCreate func(key string)
}

func (h *hookKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	h.beforeCreate(key)
	return h.KeyValue.Create(ctx, key, value, opts...)
}
