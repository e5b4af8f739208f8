// Package loopback serves an http.Handler on the loopback interface for
// tests, over HTTP/1.1 or HTTP/2, with a client that speaks only that
// protocol, and optionally with small socket buffers so that a client that
// stops reading holds up the server early and by a known amount.
package loopback

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Serve serves h until tb ends and returns a client that speaks HTTP/2 (over
// TLS) if http2 is set, HTTP/1.1 otherwise, and the server's base URL.
//
// A positive bufSize sets each connection's send buffer on the server and
// receive buffer on the client and, over HTTP/2, the client's flow-control
// window for a stream, to bufSize bytes. Zero keeps the system's and
// net/http's defaults. The server is closed, and the client's idle
// connections with it, when tb ends.
func Serve(tb testing.TB, http2 bool, h http.Handler, bufSize int) (*http.Client, string) {
	tb.Helper()
	srv := httptest.NewUnstartedServer(h)
	if bufSize > 0 {
		srv.Listener = sendBufferListener{srv.Listener, bufSize}
	}
	var dialer net.Dialer
	tr := &http.Transport{
		Protocols: new(http.Protocols),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err == nil && bufSize > 0 {
				err = conn.(*net.TCPConn).SetReadBuffer(bufSize)
			}
			return conn, err
		},
	}
	if http2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		tr.Protocols.SetHTTP2(true)
		tr.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		if bufSize > 0 {
			tr.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerStream: bufSize}
		}
	} else {
		srv.Start()
		tr.Protocols.SetHTTP1(true)
	}
	tb.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return &http.Client{Transport: tr}, srv.URL
}

// sendBufferListener sets the send buffer of every connection it accepts.
type sendBufferListener struct {
	net.Listener
	size int
}

func (l sendBufferListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := conn.(*net.TCPConn).SetWriteBuffer(l.size); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
