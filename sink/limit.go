package sink

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"golang.org/x/sync/semaphore"
)

// Errors of a stream that a [Limit] turned away.
var (
	// ErrRejected reports a stream turned away because the Limit was
	// full: the client got 503 Service Unavailable.
	ErrRejected = errors.New("sink: too many streams")
	// ErrClientLimit reports a stream turned away because its client
	// held as many streams as [Limit.PerClient] allows: the client got
	// 429 Too Many Requests.
	ErrClientLimit = errors.New("sink: too many streams for one client")
)

// Limit caps the number of streams running at once, so that an overloaded
// server turns new streams away with 503 Service Unavailable and a
// Retry-After header instead of running out of memory; with
// [Limit.PerClient] it also caps the streams one client may hold, so that
// no client can take every slot. One Limit may be shared by any number of
// Writers and is safe for concurrent use.
type Limit struct {
	sem        *semaphore.Weighted
	retryAfter time.Duration

	perClient int                       // 0: no cap per client
	key       func(*gin.Context) string // names a request's client
	mu        sync.Mutex
	clients   map[string]int // streams held, by client
}

// NewLimit returns a Limit that admits at most n streams at once and tells
// rejected clients to retry after retryAfter (rounded up to whole seconds;
// at least one second).
func NewLimit(n int64, retryAfter time.Duration) *Limit {
	return &Limit{sem: semaphore.NewWeighted(n), retryAfter: retryAfter}
}

// PerClient caps the streams one client may hold at once at n (n ≤ 0
// means no cap): the next is answered 429 Too Many Requests with
// Retry-After, and counts against nothing. key names a request's client;
// nil means its connection's remote IP address (gin's Context.RemoteIP).
// Behind a reverse proxy that is the proxy's address, shared by every
// client: configure the proxies you trust with gin's
// Engine.SetTrustedProxies and pass
//
//	func(c *gin.Context) string { return c.ClientIP() }
//
// so that X-Forwarded-For is believed only from them. A key could also be
// a user id or an API key, for streams behind authentication. PerClient
// returns l, for chaining after NewLimit; call it before l is in use.
func (l *Limit) PerClient(n int, key func(*gin.Context) string) *Limit {
	if key == nil {
		key = func(c *gin.Context) string { return c.RemoteIP() }
	}
	l.perClient, l.key, l.clients = n, key, map[string]int{}
	return l
}

// admission is one stream admitted by a Limit.
type admission struct {
	l      *Limit
	client string // "" when there is no cap per client
}

// admit admits one stream of c's client if there is room, or says why not:
// ErrClientLimit or ErrRejected.
func (l *Limit) admit(c *gin.Context) (admission, error) {
	a := admission{l: l}
	if l.perClient > 0 {
		a.client = l.key(c)
		l.mu.Lock()
		if l.clients[a.client] >= l.perClient {
			l.mu.Unlock()
			return admission{}, ErrClientLimit
		}
		l.clients[a.client]++
		l.mu.Unlock()
	}
	if !l.sem.TryAcquire(1) {
		a.releaseClient()
		return admission{}, ErrRejected
	}
	return a, nil
}

// release ends an admitted stream.
func (a admission) release() {
	a.l.sem.Release(1)
	a.releaseClient()
}

// releaseClient gives back the client's share.
func (a admission) releaseClient() {
	l := a.l
	if l.perClient <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.clients[a.client]--; l.clients[a.client] <= 0 {
		delete(l.clients, a.client)
	}
}

// retryAfterSeconds is the Retry-After value, in whole seconds.
func (l *Limit) retryAfterSeconds() int64 {
	s := int64((l.retryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// reject answers a stream the Limit turned away for err — 503, or 429 for
// a client over its share — without the headers meant for a successful
// body.
func (l *Limit) reject(c *gin.Context, err error) Report {
	code, msg := http.StatusServiceUnavailable, "too many streams at once; retry later"
	if errors.Is(err, ErrClientLimit) {
		code, msg = http.StatusTooManyRequests, "this client holds too many streams at once; close one or retry later"
	}
	dropBodyHeaders(c.Writer.Header())
	c.Header("Retry-After", strconv.FormatInt(l.retryAfterSeconds(), 10))
	c.Header("Cache-Control", "no-store")
	c.Data(code, "text/plain; charset=utf-8", []byte(strconv.Itoa(code)+" "+http.StatusText(code)+": "+msg+"\n"))
	return Report{Outcome: Rejected, Status: code, Err: err}
}
