package natshub_test

import (
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServer is an embedded single-node JetStream server for a test, on a
// port of 127.0.0.1 that stays the same across restarts, with its store
// in a directory of the test's.
type natsServer struct {
	t    testing.TB
	port int
	dir  string
	srv  *server.Server
}

// startNATS starts a JetStream server and shuts it down when t ends.
func startNATS(t testing.TB) *natsServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &natsServer{t: t, port: port, dir: t.TempDir()}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start starts the server (again), on the same port and store.
func (s *natsServer) start() {
	s.t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: s.port, JetStream: true, StoreDir: s.dir,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		s.t.Fatal("the NATS server did not get ready within 30 s")
	}
	s.srv = srv
}

// stop shuts the server down and waits until it has; it does nothing if
// the server is not running.
func (s *natsServer) stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// url returns the server's client URL.
func (s *natsServer) url() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// connect returns a JetStream client of the server whose connection is
// closed when t ends. It reconnects forever, quickly, as a server's
// client should.
func (s *natsServer) connect(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(s.url(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.NoCallbacksAfterClientClose())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// prefixes makes every hub of a test run use streams of its own.
var prefixes atomic.Int64

// newPrefix returns a prefix no other hub of this run uses.
func newPrefix() string { return fmt.Sprintf("T%d", prefixes.Add(1)) }
