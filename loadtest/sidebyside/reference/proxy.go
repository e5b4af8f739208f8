//go:build ignore

package main

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// proxyBuffer is the size of the buffers through which the proxy copies a
// body: httputil.ReverseProxy's own default.
const proxyBuffer = 32 << 10

// newProxy returns the handler of /proxy/numbers: a ReverseProxy to
// upstream, this server's own numbers stream, whatever the request's path
// and query, as the demo's proxy (handlers.Proxy) has. It flushes each
// read at once (a body of unknown length), copies through pooled buffers,
// and writes with the server's stall timeout.
func (s *server) proxy(upstream string) http.HandlerFunc {
	u, err := url.Parse(upstream)
	if err != nil {
		panic(err)
	}
	buffers := &bufferPool{pool: sync.Pool{New: func() any { return new([proxyBuffer]byte) }}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := *u
			pr.Out.URL = &out
			pr.Out.Host = ""
		},
		// As the demo's proxy client (cmd/demo's newProxyClient): up to 16
		// idle connections to the upstream.
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     time.Minute,
		},
		BufferPool: buffers,
	}
	return func(w http.ResponseWriter, r *http.Request) { rp.ServeHTTP(s.writer(w), r) }
}

// bufferPool is a ReverseProxy's pool of copy buffers.
type bufferPool struct{ pool sync.Pool }

// Get returns a buffer.
func (p *bufferPool) Get() []byte { return p.pool.Get().(*[proxyBuffer]byte)[:] }

// Put returns a buffer that Get returned.
func (p *bufferPool) Put(b []byte) { p.pool.Put((*[proxyBuffer]byte)(b)) }
