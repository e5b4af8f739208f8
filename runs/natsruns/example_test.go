package natsruns_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/runs/natsruns"
)

// Instances of a server share runs through a JetStream bucket: a request
// repeated with its Idempotency-Key to another instance gets the run the
// first started, and progress recorded by one instance is read by
// another.
func ExampleStore() {
	// An embedded JetStream server to try it out with; in production the
	// instances connect to a NATS cluster.
	dir, err := os.MkdirTemp("", "natsruns-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	opts := &server.Options{Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true}
	ns, err := server.NewServer(opts)
	if err != nil {
		panic(err)
	}
	ns.Start()
	defer ns.WaitForShutdown()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		panic("NATS not ready")
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.MaxReconnects(-1))
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		panic(err)
	}

	// Two instances' stores (each would have its own connection).
	a := &natsruns.Store{JetStream: js}
	b := &natsruns.Store{JetStream: js}
	ctx := context.Background()
	start := func(s *natsruns.Store, id string) {
		got, created, err := s.Create(ctx, runs.Record{
			Info:           runs.Info{ID: id, Kind: "report", State: runs.Running, Started: time.Now()},
			IdempotencyKey: "order-42",
		})
		if err != nil {
			panic(err)
		}
		fmt.Println(got.ID, "created:", created)
	}
	start(a, "7f3a")
	start(b, "c01d") // the same request, repeated to b

	_, err = b.Update(ctx, "7f3a", func(r *runs.Record) error {
		r.Progress = &runs.Progress{Done: 3, Total: 10}
		return nil
	})
	if err != nil {
		panic(err)
	}
	got, err := a.Get(ctx, "7f3a")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d of %d\n", got.State, got.Progress.Done, got.Progress.Total)
	// Output:
	// 7f3a created: true
	// 7f3a created: false
	// running: 3 of 10
}
