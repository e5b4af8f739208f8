package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/sse/natshub"
)

// The hubs a run can measure.
const (
	hubMem  = "mem"  // sse.MemHub, one instance
	hubNATS = "nats" // natshub.Hub on an embedded JetStream server
)

// eventsPath is the stream each instance serves; topic its hub topic.
const (
	eventsPath = "/events"
	topic      = "load"
)

// cluster is a set of server instances sharing events: gin with an
// sse.EventWriter subscribing each request to one topic of the instance's hub.
type cluster struct {
	instances []*instance
	nats      *natsserver.Server // nil for MemHub
	dir       string             // the NATS store, removed at close
}

// instance is one server: its hub, its HTTP server and, with NATS, its
// own connection, as a separate process would have.
type instance struct {
	hub  sse.Hub
	nc   *nats.Conn // nil for MemHub
	url  string
	srv  *http.Server
	done chan error // Serve's result
}

// startCluster starts n instances of kind (hubMem allows one).
func startCluster(kind string, n int) (_ *cluster, err error) {
	c := &cluster{}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	if kind == hubNATS {
		if c.dir, err = os.MkdirTemp("", "natsload"); err != nil {
			return nil, err
		}
		ns, err := natsserver.NewServer(&natsserver.Options{
			Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: c.dir, NoLog: true, NoSigs: true,
		})
		if err != nil {
			return nil, err
		}
		ns.Start()
		c.nats = ns
		if !ns.ReadyForConnections(30 * time.Second) {
			return nil, errors.New("the NATS server is not ready after 30 s")
		}
	}
	gin.SetMode(gin.ReleaseMode)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	for range n {
		in := &instance{done: make(chan error, 1)}
		c.instances = append(c.instances, in)
		switch kind {
		case hubMem:
			in.hub = &sse.MemHub{}
		case hubNATS:
			if in.nc, err = nats.Connect(c.nats.ClientURL(), nats.MaxReconnects(-1)); err != nil {
				return nil, err
			}
			js, err := jetstream.New(in.nc)
			if err != nil {
				return nil, err
			}
			in.hub = &natshub.Hub{JetStream: js, Prefix: "load", Storage: jetstream.FileStorage}
		}
		w := &sse.EventWriter{Config: sink.Config{Logger: logger}}
		r := gin.New()
		r.GET(eventsPath, func(ctx *gin.Context) { w.Subscribe(ctx, in.hub, topic) })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		in.url = "http://" + ln.Addr().String()
		in.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
		go func() { in.done <- in.srv.Serve(ln) }() // joined by close
	}
	return c, nil
}

// close closes the hubs, the servers (ending their streams), the NATS
// connections and server, and removes the store.
func (c *cluster) close() error {
	var errs []error
	for _, in := range c.instances {
		if in.hub != nil {
			in.hub.Close()
		}
		if in.srv != nil {
			in.srv.Close()
			if err := <-in.done; !errors.Is(err, http.ErrServerClosed) {
				errs = append(errs, err)
			}
		}
		if in.nc != nil {
			in.nc.Close()
		}
	}
	if c.nats != nil {
		c.nats.Shutdown()
		c.nats.WaitForShutdown()
	}
	if c.dir != "" {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}

// subscribers returns the subscriptions running on every instance.
func (c *cluster) subscribers() int {
	n := 0
	for _, in := range c.instances {
		switch h := in.hub.(type) {
		case *sse.MemHub:
			n += h.Subscribers(topic)
		case *natshub.Hub:
			n += h.Subscribers(topic)
		}
	}
	return n
}

// waitSubscribed waits until n subscriptions run, or ctx ends.
func (c *cluster) waitSubscribed(ctx context.Context, n int) error {
	for c.subscribers() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d subscriptions running: %w", c.subscribers(), n, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
