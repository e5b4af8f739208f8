package runs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

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

// goneFor is how long, at least, a run's record is kept after its
// Retention, so that a client asking for it is told 410 Gone rather than
// 404 Not Found: Retention plus the longer of Retention and goneFor.
const goneFor = time.Hour

// Manager starts runs and attaches clients to them. Its fields configure
// it and must not change once it is in use; the zero value of each is a
// documented default. A Manager is used by pointer and is safe for
// concurrent use; Close ends it.
//
// Besides a goroutine per running run (and one for its producer), a
// Manager that has started a run keeps one goroutine of its own, which
// renews the leases of its runs every Lease/3, writes their progress to
// the Store as it does, and forgets what Retention no longer keeps. Close
// stops it.
type Manager struct {
	// Hub keeps the runs' events, one topic per run ("run-" + id). Nil
	// means a sse.MemHub of the Manager's own for each run, which keeps
	// every event of the run (MaxItems, plus its start and end events),
	// for MaxDuration plus Retention, and is dropped when Retention has
	// passed. A hub given here must keep as many, for as long (for
	// natshub.Hub: Replay and ReplayAge), or late clients miss the start
	// of a run, and should let a subscriber fall as far behind, or slow
	// clients are disconnected (SSE clients resume; NDJSON clients see a
	// failed transfer and resume with ?from=).
	Hub sse.Hub
	// Store keeps the runs' records. Nil means a MemStore of the
	// Manager's own. A Store shared by several instances needs a Hub
	// shared by them too.
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
	// Get and Attach report ErrGone, for another Retention but at least
	// an hour, after which the run is forgotten (ErrNotFound) with its
	// idempotency key. Zero means DefaultRetention.
	Retention time.Duration
	// Lease is how long a run's owner may go without renewing its lease
	// (every Lease/3) before clients attached elsewhere are told the run
	// failed with ErrLeaseLost. Zero means DefaultLease. The instances
	// sharing a Store compare lease times with their own clocks, which
	// must agree to well within Lease.
	Lease time.Duration

	// Events configures the streams of attached clients: sink.Config,
	// retry and heartbeat, for NDJSON streams too.
	Events sse.EventWriter
	// Logger logs runs that fail; nil means slog.Default().
	Logger *slog.Logger

	once       sync.Once
	store      Store
	instance   string
	base       context.Context // the runs' contexts derive from it; Close cancels it
	cancelBase context.CancelCauseFunc
	done       chan struct{} // closed when Close has ended every run
	wg         sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	keeping   bool            // the keeper goroutine is started
	runs      map[string]*run // the runs started here, until their Retention passes
	keys      map[string]*run // those of runs with an idempotency key
	running   int
	perClient map[string]int
}

// errClosing is the cause with which Close cancels the runs.
var errClosing = errors.New("runs: manager closing")

// init sets up the Manager's state on first use.
func (m *Manager) init() {
	m.once.Do(func() {
		m.store = m.Store
		if m.store == nil {
			m.store = &MemStore{}
		}
		m.instance = m.Instance
		if m.instance == "" {
			m.instance = newID()
		}
		m.base, m.cancelBase = context.WithCancelCause(context.Background())
		m.done = make(chan struct{})
		m.runs = make(map[string]*run)
		m.keys = make(map[string]*run)
		m.perClient = make(map[string]int)
	})
}

// Get returns the Info of run id: ErrNotFound for an id never seen (or
// forgotten), ErrGone for a run that ended more than Retention ago. The
// progress of a run of this instance is its latest; that of a run of
// another instance is as of its last lease renewal.
func (m *Manager) Get(ctx context.Context, id string) (Info, error) {
	m.init()
	t, err := m.lookup(ctx, id)
	return t.rec.Info, err
}

// Close cancels every run of this Manager, publishes their final events,
// and waits for their producers to return. Start fails with ErrClosed
// afterwards, and so does Attach (503); streams attached here to
// runs of other instances end (an event stream with an sse.EventShutdown
// event, so that the client reconnects, to another instance; an NDJSON
// stream as a failed transfer). Close is idempotent, and returns once the
// first call has done all this.
func (m *Manager) Close() error {
	m.init()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.done
		return nil
	}
	m.closed = true
	m.mu.Unlock()

	m.cancelBase(errClosing)
	m.wg.Wait() // the runs have published their final events
	m.mu.Lock()
	owned := m.runs
	m.runs, m.keys = nil, nil
	m.mu.Unlock()
	for _, r := range owned {
		if r.own != nil {
			r.own.Close() // subscriptions deliver the end event first
		}
	}
	close(m.done)
	return nil
}

// isClosed reports whether Close has been called.
func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// The settings in force: the fields, or their defaults.

func (m *Manager) maxRunning() int   { return positive(m.MaxRunning, DefaultMaxRunning) }
func (m *Manager) maxPerClient() int { return positive(m.MaxPerClient, DefaultMaxPerClient) }
func (m *Manager) maxItems() int     { return positive(m.MaxItems, DefaultMaxItems) }
func (m *Manager) maxDuration() time.Duration {
	return positive(m.MaxDuration, DefaultMaxDuration)
}
func (m *Manager) retention() time.Duration { return positive(m.Retention, DefaultRetention) }
func (m *Manager) lease() time.Duration     { return positive(m.Lease, DefaultLease) }

func (m *Manager) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

// positive returns v, or def if v is not positive.
func positive[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// newID returns 128 random bits in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// topic is the hub topic of run id.
func topic(id string) string { return "run-" + id }
