package sink

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"golang.org/x/sync/semaphore"
)

// Limit caps the number of streams running at once, so that an overloaded
// server turns new streams away with 503 Service Unavailable and a
// Retry-After header instead of running out of memory. One Limit may be
// shared by any number of Writers and is safe for concurrent use.
type Limit struct {
	sem        *semaphore.Weighted
	retryAfter time.Duration
}

// NewLimit returns a Limit that admits at most n streams at once and tells
// rejected clients to retry after retryAfter (rounded up to whole seconds;
// at least one second).
func NewLimit(n int64, retryAfter time.Duration) *Limit {
	return &Limit{sem: semaphore.NewWeighted(n), retryAfter: retryAfter}
}

// tryAcquire admits one stream if there is room.
func (l *Limit) tryAcquire() bool { return l.sem.TryAcquire(1) }

// release ends one admitted stream.
func (l *Limit) release() { l.sem.Release(1) }

// retryAfterSeconds is the Retry-After value, in whole seconds.
func (l *Limit) retryAfterSeconds() int64 {
	s := int64((l.retryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// reject answers 503 for a stream the Limit turned away, without the
// headers meant for a successful body.
func (l *Limit) reject(c *gin.Context) Report {
	dropBodyHeaders(c.Writer.Header())
	c.Header("Retry-After", strconv.FormatInt(l.retryAfterSeconds(), 10))
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusServiceUnavailable, "text/plain; charset=utf-8",
		[]byte("503 Service Unavailable: too many streams at once; retry later\n"))
	return Report{Outcome: Rejected, Status: http.StatusServiceUnavailable, Err: ErrRejected}
}
