package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginstream/ginstream/internal/testscale"
)

// New starts a server for the test tb and stops it when tb ends. It skips
// tb if PostgreSQL is unavailable, or fails it if the environment variable
// CI is set (see the package documentation).
func New(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start(tb.Context())
	check(tb, err)
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return s
}

// check ends tb if Start failed: it skips it if PostgreSQL is unavailable
// outside CI, and fails it otherwise.
func check(tb testing.TB, err error) {
	tb.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrUnavailable) && !testscale.CI():
		tb.Skipf("%v; skipping the test (with CI set, this fails it)", err)
	case errors.Is(err, ErrUnavailable):
		tb.Fatalf("%v; CI is set, so the PostgreSQL tests must run", err)
	default:
		tb.Fatalf("%v", err)
	}
}

// TestingM is the part of *testing.M that [Main] needs; goleak.VerifyTestMain
// accepts it too.
type TestingM interface {
	Run() int
}

// shared is the server of the test binary under Main.
var shared struct {
	mu      sync.Mutex
	running bool    // Main is running the tests
	srv     *Server // started by the first Shared, stopped by Main
	err     error   // why it failed to start, for every test that asks
}

// Main wraps a test binary's m so that its Run lets the tests share one
// server: the first call to [Shared] or [DB] starts it and Run stops it after
// the tests, failing the run if it does not stop cleanly. Use it in TestMain:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Main(m)) }
//
// A binary whose tests never ask for a server starts none.
func Main(m TestingM) TestingM {
	return mainRunner{m}
}

type mainRunner struct{ m TestingM }

func (r mainRunner) Run() int {
	shared.mu.Lock()
	shared.running = true
	shared.mu.Unlock()

	code := r.m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.srv != nil {
		if err := shared.srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	shared.running, shared.srv, shared.err = false, nil, nil
	return code
}

// Shared returns the test binary's server under [Main], starting it on the
// first call; without Main it returns [New](tb), a server for tb alone. Like
// New, it skips or fails tb if PostgreSQL is unavailable.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.mu.Lock()
	if !shared.running {
		shared.mu.Unlock()
		return New(tb)
	}
	if shared.srv == nil && shared.err == nil {
		// Not tb's context: the server outlives tb.
		shared.srv, shared.err = Start(context.Background())
	}
	srv, err := shared.srv, shared.err
	shared.mu.Unlock()
	check(tb, err)
	return srv
}

// DB returns a connection pool to a new, empty database of the [Shared]
// server, for tb alone; see [Server.DB].
func DB(tb testing.TB) *sql.DB {
	tb.Helper()
	return Shared(tb).DB(tb)
}

// DB creates a new, empty database for tb and returns a connection pool to
// it. When tb ends, the pool is closed and the database dropped.
func (s *Server) DB(tb testing.TB) *sql.DB {
	tb.Helper()
	return Open(tb, s.NewDatabase(tb))
}

// NewDatabase creates a new, empty database for tb and returns its
// connection string, for tests that open their own connections. The database
// is dropped when tb ends, with any sessions still connected to it; close
// pools in cleanups registered after this call, which run before the drop.
func (s *Server) NewDatabase(tb testing.TB) (dsn string) {
	tb.Helper()
	name := s.databaseName(tb.Name())
	dsn, err := s.CreateDatabase(tb.Context(), name)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		// tb.Context is cancelled by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.DropDatabase(ctx, name); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return dsn
}

var notIdentifier = regexp.MustCompile(`[^a-z0-9]+`)

// databaseName returns a new database name: a number unique on the server
// and as much of the test's name as fits, to tell databases apart in logs.
func (s *Server) databaseName(test string) string {
	const maxLen = 63 // PostgreSQL's NAMEDATALEN-1
	name := fmt.Sprintf("t%d_%s", s.dbs.Add(1), notIdentifier.ReplaceAllString(strings.ToLower(test), "_"))
	return strings.TrimRight(name[:min(len(name), maxLen)], "_")
}

// Open opens a connection pool with the pgx driver and closes it when tb
// ends. Closing every pool keeps goleak quiet: an open *sql.DB has a
// goroutine.
func Open(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatalf("pgtest: open %s: %v", dsn, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("pgtest: close %s: %v", dsn, err)
		}
	})
	return db
}
