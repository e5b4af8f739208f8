package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/sse"
	"github.com/ginstream/ginstream/sse/natshub"
)

// With -nats, the demo's event streams go through NATS JetStream instead
// of a hub in memory (sse/natshub), so that several instances of the demo
// share them: an event published by one reaches the pages of all, and a
// page whose EventSource reconnects to another instance resumes there.
// -nats embedded starts a single-node JetStream server inside the demo,
// storing in the data directory's nats/, on a free port of 127.0.0.1 that
// it prints for other instances to join. Every instance publishes its
// ticks, orders and log lines unless started with -publish=false, which
// keeps one source of ticks when several instances run.

// natsEmbedded is the value of -nats that starts a server in the demo.
const natsEmbedded = "embedded"

// natsConnectTimeout bounds the first connection to NATS at start.
const natsConnectTimeout = 5 * time.Second

// isNATSURL reports whether a -nats value names NATS servers: one URL, or
// several separated by commas, each nats:// or tls://.
func isNATSURL(v string) bool {
	for u := range strings.SplitSeq(v, ",") {
		u = strings.TrimSpace(u)
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") || len(u) <= len("tls://") {
			return false
		}
	}
	return true
}

// openHub returns the hub of the demo's event streams, the JetStream
// client it uses (nil without -nats: the runs then keep to memory too, see
// openRuns) and a function that releases what they hold, to call after the
// hub and whatever else uses the client are closed: a MemHub without
// -nats, or a JetStream hub, connected to the servers of -nats or to one
// started in the demo. If NATS cannot be reached, or has no JetStream, it
// says so in its error.
func openHub(cfg config, logger *slog.Logger) (sse.Hub, jetstream.JetStream, func(), error) {
	if cfg.nats == "" {
		hub := &sse.MemHub{}
		return hub, nil, func() { hub.Close() }, nil
	}
	url, stop := cfg.nats, func() {}
	if cfg.nats == natsEmbedded {
		srv, err := startNATSServer(filepath.Join(cfg.dataDir, "nats"), "127.0.0.1", -1)
		if err != nil {
			return nil, nil, nil, err
		}
		url = srv.ClientURL()
		stop = func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		}
		logger.Info("NATS: embedded JetStream server started; other instances join with -nats "+url, "url", url, "store", srv.StoreDir())
	}
	nc, err := nats.Connect(url,
		nats.Name("ginstream demo"),
		nats.Timeout(natsConnectTimeout),
		nats.MaxReconnects(-1), // once connected, never give up
		nats.ReconnectWait(500*time.Millisecond),
		nats.ReconnectBufSize(-1), // while reconnecting, publishing fails rather than queueing
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			logger.Warn("NATS: disconnected; event streams end with an error until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("NATS: reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.NoCallbacksAfterClientClose(),
	)
	if err != nil {
		stop()
		return nil, nil, nil, fmt.Errorf("cannot connect to NATS at %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), natsConnectTimeout)
		_, err = js.AccountInfo(ctx)
		cancel()
	}
	if err != nil {
		nc.Close()
		stop()
		return nil, nil, nil, fmt.Errorf("NATS at %s has no JetStream for the event streams (run nats-server -js): %w", url, err)
	}
	logger.Info("NATS: connected; event streams go through JetStream", "url", nc.ConnectedUrlRedacted())
	hub := &natshub.Hub{JetStream: js}
	return hub, js, func() {
		hub.Close()
		nc.Close()
		stop()
	}, nil
}

// startNATSServer starts a single-node JetStream server on host:port (a
// port of -1 picks a free one), storing its streams in dir, and waits
// until it accepts clients.
func startNATSServer(dir, host string, port int) (*natsserver.Server, error) {
	srv, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "ginstream-demo",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true, // the demo handles its signals
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, errors.New("embedded NATS: not accepting clients after 30 s (is " + net.JoinHostPort(host, strconv.Itoa(port)) + " free?)")
	}
	return srv, nil
}
