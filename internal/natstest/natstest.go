// Package natstest runs embedded NATS servers with JetStream for tests,
// so that code on JetStream (sse/natshub, runs/natsruns) is tested
// against a real server rather than a fake client.
//
//	ns := natstest.Start(t)   // shut down when t ends
//	js := ns.Connect(t)       // closed when t ends
//	ns.Stop()                 // NATS goes away…
//	ns.Start()                // …and comes back, same port, same store
//
// A server listens on a port of 127.0.0.1 that stays the same across
// restarts and keeps its streams in a directory of the test's, so that
// file storage survives a restart as it would in production.
package natstest

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Server is an embedded single-node JetStream server of a test.
type Server struct {
	t    testing.TB
	port int
	dir  string
	srv  *server.Server
}

// Start starts a JetStream server and shuts it down when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{t: t, port: port, dir: t.TempDir()}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server again after Stop, on the same port and store.
func (s *Server) Start() {
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

// Stop shuts the server down and waits until it has; it does nothing if
// the server is not running.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// URL returns the server's client URL.
func (s *Server) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// Connect returns a JetStream client of the server whose connection is
// closed when t ends. It reconnects forever, quickly, as a server's
// client should.
func (s *Server) Connect(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(s.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.NoCallbacksAfterClientClose())
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
