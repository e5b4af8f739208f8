package sink

import (
	"errors"
	"time"
)

// ErrRejected reports a stream that a [Limit] turned away.
var ErrRejected = errors.New("sink: too many streams")

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
	// Rejected: the Limit was full; the client got 503.
	Rejected
)

var outcomeNames = [...]string{"completed", "client_gone", "stalled", "failed", "rejected"}

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
	Flushes  int           // batches written and flushed
	Duration time.Duration // from the call of Stream until its return
}
