package runs

import (
	"errors"
	"net/http"
	"time"

	"github.com/ginstream/ginstream/sink"
)

// State says whether a run is running or how it ended.
type State string

// The states of a run.
const (
	Running   State = "running"
	Completed State = "completed" // its producer returned nil
	Failed    State = "failed"    // its producer failed, it broke a bound, or its instance stopped
	Cancelled State = "cancelled" // Manager.Cancel, or the Manager was closed
)

// Ended reports whether s is a final state.
func (s State) Ended() bool { return s != Running && s != "" }

// Progress is how far a run has got: Done of Total, or Done alone when the
// total is not known (Total 0).
type Progress struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total,omitempty"`
}

// Info is what a client may know of a run. It is the data of the run's
// final event, as JSON.
type Info struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind,omitempty"`
	State    State     `json:"state"`
	Message  string    `json:"message,omitempty"` // why it failed, for the client; see Manager
	Progress *Progress `json:"progress,omitempty"`
	Items    int       `json:"items"` // events published, progress events excluded
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
}

// Spec says how to start a run.
type Spec struct {
	// ID names the run; empty means a new random id (128 bits, in hex).
	// An id already in use is refused with ErrIDTaken.
	ID string
	// Kind is a label of the caller's, reported in Info.
	Kind string
	// IdempotencyKey, if not empty, makes Start return the run started
	// with the same key, for as long as that run's record is kept (see
	// Manager.Retention), instead of starting another.
	IdempotencyKey string
	// Client names the client, for MaxPerClient; empty counts against no
	// client's share.
	Client string
}

// EventProgress names the events that carry a run's progress; their data is
// a Progress as JSON. Make them with ProgressEvent.
const EventProgress = "progress"

// Errors of the Manager's methods. Each carries its HTTP status
// (sink.StatusOf).
var (
	ErrNotFound     = sink.WithStatus(http.StatusNotFound, errors.New("runs: no such run"))
	ErrGone         = sink.WithStatus(http.StatusGone, errors.New("runs: run ended and is no longer kept"))
	ErrIDTaken      = sink.WithStatus(http.StatusConflict, errors.New("runs: run id already in use"))
	ErrTooMany      = sink.WithStatus(http.StatusTooManyRequests, errors.New("runs: too many runs running"))
	ErrClientBusy   = sink.WithStatus(http.StatusTooManyRequests, errors.New("runs: too many runs running for this client"))
	ErrClosed       = sink.WithStatus(http.StatusServiceUnavailable, errors.New("runs: manager closed"))
	ErrTooManyItems = errors.New("runs: run published more events than MaxItems")
	ErrMaxDuration  = errors.New("runs: run reached MaxDuration")
	ErrLeaseLost    = errors.New("runs: the instance running the run stopped")
)
