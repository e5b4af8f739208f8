package natshub_test

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/internal/natstest"
	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/sse/hubtest"
	"github.com/ginstream/ginstream/sse/natshub"
)

// TestHub runs the conformance suite that every Hub passes, each hub with
// streams of its own on one embedded server.
func TestHub(t *testing.T) {
	ns := natstest.Start(t)
	js := ns.Connect(t)
	hubtest.Run(t, func(t *testing.T, o hubtest.Options) sse.Hub {
		return &natshub.Hub{
			JetStream: js, Prefix: newPrefix(), Storage: jetstream.MemoryStorage,
			Replay: o.Replay, Buffer: o.Buffer, Policy: o.Policy,
		}
	})
}
