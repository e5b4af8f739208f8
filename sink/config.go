package sink

import (
	"errors"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
)

// Defaults for the zero values of [Config]'s and [Writer]'s fields.
const (
	// DefaultBatchBytes is the byte budget of one write: a fast
	// producer's items reach the connection in writes of this size. At
	// 64 KiB, a hand-written net/http writer's usual buffer, a stream of
	// small items makes as many write system calls per byte as one; at 32
	// KiB it made twice as many, and served a median 0.71x such a writer's
	// lines per second out of process, against 0.88x at 64 KiB
	// (docs/BENCHMARKS.md). A stream's buffer grows to this size once its
	// producer fills a batch, and is kept until the stream ends; a paced
	// stream's stays the size of its items.
	DefaultBatchBytes = 64 << 10
	// DefaultStallTimeout is how long one batch may take to reach a client.
	DefaultStallTimeout = 30 * time.Second
)

// Errors with which a Writer cancels its producers; yield returns errors
// matching them.
var (
	// ErrClientGone reports that the client disconnected.
	ErrClientGone = errors.New("sink: client gone")
	// ErrStalled reports that the client accepted nothing for the stall
	// timeout. A producer may also return an error matching it (such as
	// a subscriber that fell too far behind) to end its stream with the
	// outcome [Stalled].
	ErrStalled = errors.New("sink: client stalled")
	// ErrMaxDuration reports a stream that ran for Config.MaxDuration.
	ErrMaxDuration = errors.New("sink: stream reached its longest duration")
)

// Config holds the settings that every stream of an application shares,
// whatever its items: admission, timeouts, compression, reporting and
// logging. Set it up once and give the same value to every [Writer], to
// sse.EventWriter and to every handler of package handlers, each of which has a
// Config field:
//
//	streams := sink.Config{Limit: sink.NewLimit(1000, 2*time.Second), OnReport: collector.Observe}
//	numbers := handlers.Numbers{Config: streams}
//	w := sink.Writer[string]{Encoder: sink.Lines[string]{}, Config: streams}
//
// The zero value of each field is a documented default, so the zero Config
// is ready to use. A Config is only read, never changed, by the streams
// that use it.
type Config struct {
	// Limit, if not nil, is consulted before a stream starts: when it is
	// full the request is answered 503 with Retry-After, and when the
	// client holds its share of it (Limit.PerClient) 429. One Limit
	// shared by every stream caps them all together.
	Limit *Limit

	// StallTimeout ends a stream whose client has not accepted a batch
	// within this time (at least 3/4 of it, in a stream that never waits
	// for items), through the connection's write deadline; without it a
	// client that stops reading would hold the stream forever. Zero means
	// DefaultStallTimeout; a negative value turns it off.
	StallTimeout time.Duration

	// HeaderTimeout, if positive, sends the response headers once the
	// first item has taken this long, without waiting further for it, so
	// that a client learns early that the stream is open (a log that is
	// quiet, an upstream that is slow to send its body). A failure after
	// that is reported to the client as a failed transfer, no longer as an
	// error status. Zero means the headers wait for the first item.
	HeaderTimeout time.Duration

	// MaxDuration, if positive, is the longest a stream may run: then its
	// producers are cancelled (yield returns an error matching
	// ErrMaxDuration) and the stream ends with the outcome [Expired], so
	// that no client holds a stream, and its slot of the Limit, forever.
	// A client is told as for any failure: a failed transfer, or what the
	// encoder's [Epilogue] says (an event stream asks its client to
	// reconnect, and it resumes); before the first byte, 503. Zero means
	// no limit.
	MaxDuration time.Duration

	// Compress, if true, compresses the body with gzip or zstd when the
	// request's Accept-Encoding allows it (gzip if both are equally
	// welcome, since it is the faster of the two), flushing the
	// compressor with every batch so that a compressed stream still
	// streams. It adds "Vary: Accept-Encoding", and leaves a body alone
	// whose Content-Encoding the handler has set, so content that is
	// compressed already (an upstream's gzip body) passes as it is.
	Compress bool

	// OnReport, if not nil, is called with the report of every stream, on
	// the handler's goroutine, after the stream has ended (for metrics).
	OnReport func(*gin.Context, Report)

	// Logger logs every stream that does not complete: a failure at
	// Error (at Info when it was the client's, answered 4xx), a stall or
	// a rejection at Warn, a stream that reached MaxDuration at Info, a
	// client that left at Debug (leaving is what clients do; the report
	// still counts it). Nil means slog.Default().
	Logger *slog.Logger
}

// stallTimeout returns the stall timeout in force: negative for none.
func (cfg *Config) stallTimeout() time.Duration {
	if cfg.StallTimeout == 0 {
		return DefaultStallTimeout
	}
	return cfg.StallTimeout
}

// logger returns the logger in force.
func (cfg *Config) logger() *slog.Logger {
	if cfg.Logger == nil {
		return slog.Default()
	}
	return cfg.Logger
}
