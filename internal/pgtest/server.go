package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// DefaultBinDir is the directory holding PostgreSQL's programs (initdb and
// postgres) that [Start] uses unless the environment variable PGTEST_BINDIR
// names another.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// ErrUnavailable reports that PostgreSQL cannot be run here: its programs
// are missing, or the tests run as root and there is no user "postgres" to
// run it as. Tests skip on it, except in CI (see the package documentation).
var ErrUnavailable = errors.New("pgtest: PostgreSQL is not available")

// Timeouts of a Server's life. Start and Stop are bounded by them even if a
// server hangs.
const (
	readyTimeout    = time.Minute      // from starting postgres to a successful connection
	shutdownTimeout = 30 * time.Second // for a fast shutdown (SIGINT) before an immediate one
	killTimeout     = 10 * time.Second // for an immediate shutdown (SIGQUIT) before SIGKILL
	superuser       = "postgres"
	adminDatabase   = "postgres"
	socketPort      = 5432 // names the socket file; the directory is the server's own
)

// Server is a running PostgreSQL cluster started by [Start]. Its methods are
// safe for concurrent use.
type Server struct {
	dir     string // temporary directory: data/, the socket, postgres.log
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the postmaster has exited and been reaped
	waitErr error         // the postmaster's exit status; read after exited is closed
	admin   *sql.DB       // connections to the "postgres" database, for CREATE/DROP DATABASE
	dbs     atomic.Int64  // databases created, to name the next one

	stopOnce sync.Once
	stopErr  error
}

// Start creates a cluster in a new temporary directory, starts it and waits
// until it accepts connections (at most a minute). ctx bounds the start only;
// the server runs until [Server.Stop], which the caller must call.
//
// Start returns an error matching [ErrUnavailable] if PostgreSQL cannot be
// run here, and another error if it can but failed to start (the error then
// includes the end of the server's log).
func Start(ctx context.Context) (*Server, error) {
	bin := os.Getenv("PGTEST_BINDIR")
	if bin == "" {
		bin = DefaultBinDir
	}
	return StartIn(ctx, bin)
}

// StartIn is [Start] with the programs in the directory bin.
func StartIn(ctx context.Context, bin string) (*Server, error) {
	for _, prog := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, prog)); err != nil {
			return nil, fmt.Errorf("%w: %v (install PostgreSQL 15, or set PGTEST_BINDIR to the directory of its initdb and postgres)", ErrUnavailable, err)
		}
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	attr, err := sysProcAttr(cred)
	if err != nil {
		return nil, err
	}

	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: give the cluster's directory to user %q: %w", superuser, err)
		}
	}
	s := &Server{dir: dir, exited: make(chan struct{})}
	if err := s.start(ctx, bin, attr); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	return s, nil
}

// credential returns the user to run PostgreSQL as: nil for the current user,
// or the user "postgres" when running as root, which PostgreSQL refuses.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(superuser)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL refuses to run as root, and there is no user %q to run it as: %v", ErrUnavailable, superuser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: user %q: uid %q: %w", superuser, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("pgtest: user %q: gid %q: %w", superuser, u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// env is the environment of initdb and postgres: no PG* variables of the
// caller's, and a locale and time zone that exist everywhere.
func env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "LANG=C", "LC_ALL=C", "TZ=UTC"}
}

// start runs initdb and then the postmaster, without waiting for it.
func (s *Server) start(ctx context.Context, bin string, attr func() *syscall.SysProcAttr) error {
	data := filepath.Join(s.dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"--pgdata="+data,
		"--username="+superuser,
		"--auth=trust",
		"--encoding=UTF8",
		"--locale=C",
		"--no-sync",
		"--no-instructions",
	)
	initdb.Env = env()
	initdb.SysProcAttr = attr()
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}

	log, err := os.OpenFile(s.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer log.Close() // the postmaster has its own copy
	s.cmd = exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-c", "listen_addresses=", // no TCP: the Unix socket only
		"-c", "unix_socket_directories="+s.dir,
		"-c", "port="+strconv.Itoa(socketPort),
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "wal_level=minimal",
		"-c", "max_wal_senders=0",
		"-c", "shared_buffers=16MB",
		"-c", "max_connections=50",
		"-c", "autovacuum=off",
		"-c", "jit=off",
		"-c", "max_parallel_workers_per_gather=0", // one backend per query, as tests expect
	)
	s.cmd.Env = env()
	s.cmd.Stdout = log
	s.cmd.Stderr = log
	s.cmd.SysProcAttr = attr()
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	db, err := sql.Open("pgx", s.DSN())
	if err != nil { // only for a malformed DSN
		return errors.Join(fmt.Errorf("pgtest: %w", err), s.Stop())
	}
	s.admin = db
	return nil
}

// waitReady polls the server with connections until one succeeds.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 5*time.Second)
		err := s.admin.PingContext(attempt)
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return errors.New("pgtest: postgres exited while starting") // Stop reports how, with the log
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready: %w (last attempt: %v):\n%s", context.Cause(ctx), err, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// DSN returns the connection string (keyword/value form, understood by pgx
// and libpq) of the server's "postgres" database as its superuser "postgres".
// Tests should normally take a database of their own with [Server.DB] or
// [Server.NewDatabase].
func (s *Server) DSN() string {
	return s.dsn(adminDatabase)
}

// URL returns DSN as a postgres:// URL, for programs that take one.
func (s *Server) URL() string {
	q := url.Values{"host": {s.dir}, "port": {strconv.Itoa(socketPort)}, "sslmode": {"disable"}}
	return "postgres://" + superuser + "@/" + adminDatabase + "?" + q.Encode()
}

// PID returns the process id of the server's postmaster, the parent of
// its backends.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// dsn returns the connection string of a database of the server.
func (s *Server) dsn(database string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable connect_timeout=10",
		quoteValue(s.dir), socketPort, superuser, quoteValue(database))
}

// quoteValue quotes a value of a keyword/value connection string.
func quoteValue(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	return `'` + strings.ReplaceAll(v, `'`, `\'`) + `'`
}

// CreateDatabase creates an empty database with the given name and returns
// its connection string.
func (s *Server) CreateDatabase(ctx context.Context, name string) (dsn string, err error) {
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.dsn(name), nil
}

// DropDatabase drops a database, ending any sessions still connected to it.
// A database that does not exist is not an error.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Stop shuts the server down and removes its directory. It asks for a fast
// shutdown, which ends open sessions, and escalates to an immediate one and
// then SIGKILL if the server takes too long. Stop returns an error if the
// server had exited before (its log is in the error) or had to be killed.
// It is idempotent; later calls return the first call's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	var errs []error
	if s.admin != nil {
		if err := s.admin.Close(); err != nil {
			errs = append(errs, fmt.Errorf("pgtest: close admin connections: %w", err))
		}
	}
	exitedEarly := false
	select {
	case <-s.exited:
		exitedEarly = true
	default:
	}
	if !s.signal(syscall.SIGINT, shutdownTimeout) {
		errs = append(errs, fmt.Errorf("pgtest: postgres did not shut down within %v", shutdownTimeout))
		if !s.signal(syscall.SIGQUIT, killTimeout) {
			s.signal(syscall.SIGKILL, -1)
		}
	} else if exitedEarly || s.waitErr != nil {
		errs = append(errs, fmt.Errorf("pgtest: postgres exited with %v:\n%s", s.waitErr, s.logTail()))
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgtest: %w", err))
	}
	return errors.Join(errs...)
}

// signal sends sig to the postmaster and reports whether it exits within
// timeout (a negative timeout waits for as long as it takes).
func (s *Server) signal(sig syscall.Signal, timeout time.Duration) bool {
	// An error means that the process is already gone (os.ErrProcessDone).
	_ = s.cmd.Process.Signal(sig)
	if timeout < 0 {
		<-s.exited
		return true
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-s.exited:
		return true
	case <-timer.C:
		return false
	}
}

func (s *Server) logPath() string {
	return filepath.Join(s.dir, "postgres.log")
}

// logTail returns the end of the server's log, for error messages.
func (s *Server) logTail() string {
	const max = 4 << 10
	f, err := os.Open(s.logPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
