package runs

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// Defaults for the zero values of Manager's fields.
const (
	DefaultMaxRunning   = 64
	DefaultMaxPerClient = 4
	DefaultMaxItems     = 10_000
	DefaultMaxDuration  = time.Hour
	DefaultRetention    = 10 * time.Minute
	DefaultLease        = 6 * time.Second
)

// Manager starts runs and attaches clients to them. Its fields configure
// it and must not change once it is in use; the zero value of each is a
// documented default. A Manager is used by pointer and is safe for
// concurrent use; Close ends it.
type Manager struct {
	// Hub keeps the runs' events, one topic per run ("run-" + id). Nil
	// means an sse.MemHub of the Manager's own that keeps MaxItems events
	// per run for MaxDuration plus Retention. A hub given here must keep
	// as many, for as long (for natshub.Hub: Replay and ReplayAge), or late
	// clients miss the start of a run.
	Hub sse.Hub
	// Store keeps the runs' records. Nil means a MemStore of the
	// Manager's own.
	Store Store
	// Instance names this instance in a shared Store. Empty means a
	// random name.
	Instance string

	// MaxRunning is the most runs this instance runs at once; Start
	// refuses more with ErrTooMany. Zero means DefaultMaxRunning.
	MaxRunning int
	// MaxPerClient is the most runs one Spec.Client runs at once on this
	// instance; Start refuses more with ErrClientBusy. Zero means
	// DefaultMaxPerClient.
	MaxPerClient int
	// MaxItems is the most events (progress events included) a run may
	// publish; one more fails it with ErrTooManyItems. Zero means
	// DefaultMaxItems.
	MaxItems int
	// MaxDuration is the longest a run may run; it then fails with
	// ErrMaxDuration. Zero means DefaultMaxDuration.
	MaxDuration time.Duration
	// Retention is how long an ended run stays attachable; after it,
	// Get and Attach report ErrGone. Zero means DefaultRetention.
	Retention time.Duration
	// Lease is how long a run's owner may go without renewing its lease
	// (every Lease/3) before clients attached elsewhere are told the run
	// failed with ErrLeaseLost. Zero means DefaultLease.
	Lease time.Duration

	// Events configures the streams of attached clients: sink.Config,
	// retry and heartbeat, for NDJSON streams too.
	Events sse.EventWriter
	// Logger logs runs that fail; nil means slog.Default().
	Logger *slog.Logger
}

// Start starts a run of producer, or, for a Spec whose IdempotencyKey was
// seen before, returns the run started with it and created false (producer
// is then not called). The run's producer runs on a goroutine of the
// Manager's with a context that ends when the run is cancelled, times out
// or the Manager closes; what it yields is published to the run's topic,
// and events named EventProgress also set the run's progress. Its error,
// if any, fails the run: the client is told the message of an error with a
// 4xx status (sink.StatusOf), otherwise only that the run failed, and the
// error is logged.
func (m *Manager) Start(spec Spec, producer generator.Func[sse.Event]) (info Info, created bool, err error) {
	panic("runs: Start not built yet")
}

// Get returns the Info of run id: ErrNotFound for an id never seen (or
// forgotten), ErrGone for a run that ended more than Retention ago.
func (m *Manager) Get(ctx context.Context, id string) (Info, error) {
	panic("runs: Get not built yet")
}

// Cancel cancels run id, whichever instance runs it, and returns its Info.
// Cancelling a run that has ended changes nothing.
func (m *Manager) Cancel(ctx context.Context, id string) (Info, error) {
	panic("runs: Cancel not built yet")
}

// Attach streams run id to the client: Server-Sent Events when its Accept
// header asks for text/event-stream (resuming after sse.LastEventID),
// NDJSON otherwise (resuming after the query parameter "from"), from the
// run's first event when the client gives no id. A client first gets the
// run's latest progress, then the events, and the stream ends after the
// run's final EventEnd event. An unknown id is answered 404, a run past
// Retention 410.
func (m *Manager) Attach(c *gin.Context, id string) sink.Report {
	panic("runs: Attach not built yet")
}

// Close cancels every run of this Manager, publishes their final events,
// and waits for their producers to return. Start fails with ErrClosed
// afterwards. It is idempotent.
func (m *Manager) Close() error {
	panic("runs: Close not built yet")
}

// ProgressEvent returns the event with which a run's producer reports its
// progress: done of total (total 0 when not known).
func ProgressEvent(done, total int64) sse.Event {
	panic("runs: ProgressEvent not built yet")
}
