package sink

import (
	"errors"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
)

// Outcome says how a stream ended.
type Outcome int

// The outcomes of a stream.
const (
	// Completed: every producer finished and every byte was written.
	Completed Outcome = iota
	// ClientGone: the client disconnected before the end.
	ClientGone
	// Stalled: the client stopped reading and the stall timeout ended the
	// stream.
	Stalled
	// Failed: a producer or the encoder failed. The client got an error
	// status, or a failed transfer if bytes had been sent.
	Failed
	// Rejected: the Limit was full (the client got 503) or the client
	// held its share of it (429).
	Rejected
	// Expired: the stream ran for Config.MaxDuration and was ended.
	Expired
)

var outcomeNames = [...]string{"completed", "client_gone", "stalled", "failed", "rejected", "expired"}

// String returns the outcome's name in snake case, as used in logs and
// metrics labels.
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "unknown"
	}
	return outcomeNames[o]
}

// Report tells how one stream went.
type Report struct {
	Outcome  Outcome
	Err      error         // why the stream did not complete; nil if it did
	Status   int           // the HTTP status sent, or to be sent
	Items    int64         // items encoded
	Bytes    int64         // body bytes accepted by the connection
	Flushes  int           // times the response was flushed (a full batch is written without a flush)
	Duration time.Duration // from the call of Stream until its return
}

// finish completes the report, records and logs a failure, and hands the
// report to the hook.
func (cfg *Config) finish(c *gin.Context, r Report, start time.Time) Report {
	r.Duration = time.Since(start)
	if r.Err != nil {
		if r.Outcome != ClientGone {
			_ = c.Error(r.Err) // a client that leaves is not an error
		}
		cfg.log(c, r)
	}
	if cfg.OnReport != nil {
		cfg.OnReport(c, r)
	}
	return r
}

// log records a stream that did not complete, at a level that matches how
// much an operator should care.
func (cfg *Config) log(c *gin.Context, r Report) {
	level := slog.LevelError
	switch r.Outcome {
	case ClientGone:
		level = slog.LevelDebug
	case Expired:
		level = slog.LevelInfo
	case Failed:
		if r.Status >= 400 && r.Status < 500 {
			level = slog.LevelInfo // the client's mistake, answered with its message
		}
	case Stalled, Rejected:
		level = slog.LevelWarn
	}
	logger := cfg.logger()
	ctx := c.Request.Context()
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.String("outcome", r.Outcome.String()),
		slog.Int("status", r.Status),
		slog.Int64("items", r.Items),
		slog.Int64("bytes", r.Bytes),
		slog.Duration("duration", r.Duration),
		slog.String("error", r.Err.Error()),
	}
	if id := requestID(c); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	var pe *generator.PanicError
	if errors.As(r.Err, &pe) {
		attrs = append(attrs, slog.String("stack", string(pe.Stack)))
	}
	logger.LogAttrs(ctx, level, "ginstream: stream ended early", attrs...)
}
