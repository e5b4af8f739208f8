package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits of the HTTP server. There is deliberately no WriteTimeout (nor
// ReadTimeout, whose expiry net/http reports to HTTP/1.1 handlers as a
// cancelled request): either would cut long streams, which the sink's
// stall timeout protects instead.
const (
	idleTimeout    = 2 * time.Minute
	maxHeaderBytes = 64 << 10
	maxBodyBytes   = 1 << 20 // the demo takes no request bodies

	// streamRetryAfter is the Retry-After of a stream turned away because
	// -max-streams are running.
	streamRetryAfter = 2 * time.Second

	// streamsGrace bounds the wait, at shutdown, for the streams that end
	// cleanly to tell their clients goodbye (see server.endStreams).
	streamsGrace = 5 * time.Second
)

// server runs an HTTP server and the background tasks that belong to it.
type server struct {
	handler         http.Handler
	shutdownTimeout time.Duration // how long open requests may take to end
	// readHeaderTimeout is how long a client may take to send a request's
	// headers (against slow-loris clients).
	readHeaderTimeout time.Duration
	// h2c, if set, serves HTTP/2 without TLS too, to clients that begin
	// with its preface (prior knowledge; no Upgrade from HTTP/1.1).
	h2c    bool
	logger *slog.Logger

	// endStreams, if not nil, is called first at shutdown, before the
	// requests still open are cancelled, with a context that ends after
	// streamsGrace at most. It ends the streams that can end cleanly (the
	// event streams, which tell their clients to come back later) and
	// waits for them.
	endStreams func(ctx context.Context)
}

// serve serves HTTP on ln and runs each background task in a goroutine of
// its own; ready is called once requests are being accepted. When ctx ends
// it shuts down: it ends the streams that end cleanly (see endStreams),
// stops accepting, ends the other open streams by cancelling their
// requests' contexts (so producers stop and handlers return), waits up to
// the shutdown timeout for the connections to close (closing them after
// that), then stops the background tasks and waits for them. Every
// goroutine serve starts has ended when it returns.
func (s *server) serve(ctx context.Context, ln net.Listener, ready func(), background ...func(context.Context)) error {
	// Requests' contexts derive from base, which ends at shutdown: a stream
	// sees it as a client gone, cancels its producers and returns.
	base, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer endRequests()
	srv := &http.Server{
		Handler:           http.MaxBytesHandler(s.handler, maxBodyBytes),
		ReadHeaderTimeout: s.readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	if s.h2c {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	srv.RegisterOnShutdown(endRequests)

	var wg sync.WaitGroup
	defer wg.Wait()
	tasks, stopTasks := context.WithCancel(context.WithoutCancel(ctx))
	defer stopTasks() // before wg.Wait
	for _, task := range background {
		wg.Go(func() { task(tasks) })
	}
	served := make(chan error, 1)
	wg.Go(func() { served <- srv.Serve(ln) })
	ready()

	select {
	case err := <-served:
		endRequests()
		_ = srv.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info("shutting down", "timeout", s.shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownTimeout)
	defer cancel()
	if s.endStreams != nil {
		graceCtx, cancelGrace := context.WithTimeout(shutdownCtx, streamsGrace)
		s.endStreams(graceCtx)
		cancelGrace()
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		s.logger.Warn("requests still open after the shutdown timeout; closing their connections", "err", err)
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	stopTasks()
	wg.Wait()
	s.logger.Info("stopped")
	return nil
}

// displayURL is the URL to print for a listening address: localhost for an
// address that listens on every interface.
func displayURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// upstreamURL is the base URL at which the server reaches itself, for the
// proxy's upstream: taken from the address it listens on, never from a
// request. An address that listens on every interface is reached over
// IPv4 loopback (Go's listeners on ":port" accept IPv4 too).
func upstreamURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
