package natshub_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/sse/natshub"
)

// Two instances of a server share a topic through JetStream: an event
// published through one reaches a client of the other, and a client that
// reconnects to the other instance with the id of the first event it
// received gets the events it missed.
func ExampleHub() {
	// An embedded JetStream server, as for trying it out; in production
	// the instances connect to a NATS cluster.
	dir, err := os.MkdirTemp("", "natshub-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		panic(err)
	}
	ns.Start()
	defer ns.WaitForShutdown()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		panic("NATS not ready")
	}

	// Each instance has its own connection and hub.
	instance := func() (*natshub.Hub, func()) {
		nc, err := nats.Connect(ns.ClientURL(), nats.MaxReconnects(-1))
		if err != nil {
			panic(err)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			panic(err)
		}
		hub := &natshub.Hub{JetStream: js}
		return hub, func() { hub.Close(); nc.Close() }
	}
	a, closeA := instance()
	defer closeA()
	b, closeB := instance()
	defer closeB()

	ctx := context.Background()
	first, err := a.Publish(ctx, "news", sse.Event{Data: "one"})
	if err != nil {
		panic(err)
	}
	a.Publish(ctx, "news", sse.Event{Name: "update", Data: "two"})
	a.Publish(ctx, "news", sse.Event{Data: "three"})

	// The client received "one" from instance a and resumes on b.
	stop := errors.New("seen enough")
	err = b.Subscribe(ctx, "news", first.ID, func(f sse.Frame) error {
		e := f.Event()
		fmt.Printf("%s %q\n", e.Name, e.Data)
		if e.Data == "three" {
			return stop
		}
		return nil
	})
	fmt.Println(err)
	// Output:
	// update "two"
	//  "three"
	// seen enough
}
