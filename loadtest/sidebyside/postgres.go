package main

import (
	"context"
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
	"syscall"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// The export's PostgreSQL cluster is started here rather than with
// internal/pgtest, which this module cannot import: pgtest needs pgx,
// which the load-test module does not depend on (the servers, built in the
// library's module, are the ones that talk to the database). It is set up
// the same way: a temporary directory, a Unix socket only, trust
// authentication for the superuser postgres, no durability, and under
// root the user postgres.

// errNoPostgres reports that PostgreSQL cannot be run here; the export is
// then skipped.
var errNoPostgres = errors.New("PostgreSQL is not available")

// Bounds of the cluster's life.
const (
	pgReadyTimeout = time.Minute      // from starting postgres to pg_isready
	pgStopTimeout  = 30 * time.Second // for a fast shutdown before an immediate one
	pgSuperuser    = "postgres"
	pgPort         = 5432 // names the socket file; the directory is the cluster's own
)

// postgres is a running cluster, owned by the run that started it:
// startPostgres starts it and stop ends it and removes its directory.
type postgres struct {
	dir    string // data/, the socket, postgres.log
	cmd    *exec.Cmd
	exited chan struct{} // closed once the postmaster has exited
}

// startPostgres initializes a cluster with the programs in bin, starts it
// and waits until it accepts connections. It returns an error matching
// errNoPostgres if PostgreSQL cannot be run here.
func startPostgres(ctx context.Context, bin string) (*postgres, error) {
	for _, prog := range []string{"initdb", "postgres", "pg_isready"} {
		if _, err := os.Stat(filepath.Join(bin, prog)); err != nil {
			return nil, fmt.Errorf("%w: %v (install PostgreSQL, or name the directory of its programs with -pg-bin or PGTEST_BINDIR)", errNoPostgres, err)
		}
	}
	cred, err := pgCredential()
	if err != nil {
		return nil, err
	}
	attr, err := pgAttr(cred)
	if err != nil {
		return nil, err
	}
	// A directory of its own in the system's temporary directory, which
	// user postgres can reach.
	dir, err := os.MkdirTemp("", "sidebyside-pg-")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("give %s to user %s: %w", dir, pgSuperuser, err)
		}
	}
	p := &postgres{dir: dir, exited: make(chan struct{})}
	if err := p.start(ctx, bin, attr); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.waitReady(ctx, bin); err != nil {
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// pgCredential returns the user to run PostgreSQL as: nil for the current
// user, or user postgres under root, which PostgreSQL refuses to run as.
func pgCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(pgSuperuser)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL refuses to run as root, and there is no user %s: %v", errNoPostgres, pgSuperuser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", pgSuperuser, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", pgSuperuser, u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// pgEnv is the environment of PostgreSQL's programs: none of the caller's
// PG* variables, and a locale and time zone that exist everywhere.
func pgEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "LANG=C", "LC_ALL=C", "TZ=UTC"}
}

// start runs initdb and then the postmaster, without waiting for it.
func (p *postgres) start(ctx context.Context, bin string, attr func() *syscall.SysProcAttr) error {
	data := filepath.Join(p.dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"--pgdata="+data, "--username="+pgSuperuser, "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Env = pgEnv()
	initdb.SysProcAttr = attr()
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	log, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close() // the postmaster has its own copy
	p.cmd = exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-c", "listen_addresses=", // the Unix socket only
		"-c", "unix_socket_directories="+p.dir,
		"-c", "port="+strconv.Itoa(pgPort),
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "wal_level=minimal",
		"-c", "max_wal_senders=0",
		"-c", "shared_buffers=256MB", // the users table stays in memory
		"-c", "max_connections=20",
		"-c", "jit=off",
		"-c", "max_parallel_workers_per_gather=0", // one backend per query
	)
	p.cmd.Env = pgEnv()
	p.cmd.Stdout = log
	p.cmd.Stderr = log
	p.cmd.SysProcAttr = attr()
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	return nil
}

// waitReady polls pg_isready until the cluster accepts connections.
func (p *postgres) waitReady(ctx context.Context, bin string) error {
	deadline := time.Now().Add(pgReadyTimeout)
	for {
		check := exec.CommandContext(ctx, filepath.Join(bin, "pg_isready"),
			"-q", "-h", p.dir, "-p", strconv.Itoa(pgPort), "-U", pgSuperuser, "-d", "postgres")
		check.Env = pgEnv()
		if check.Run() == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready within %v:\n%s", pgReadyTimeout, p.logTail())
		}
		select {
		case <-p.exited:
			return fmt.Errorf("postgres exited while starting:\n%s", p.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// url returns the postgres:// URL of the cluster's database postgres,
// through its Unix socket, for the demo's -db (and the reference's).
func (p *postgres) url() string {
	q := url.Values{"host": {p.dir}, "port": {strconv.Itoa(pgPort)}, "sslmode": {"disable"}}
	return "postgres://" + pgSuperuser + "@/postgres?" + q.Encode()
}

// cpu returns the CPU time used by the cluster's processes: the
// postmaster and its children (the backends serving the connections, the
// background workers). A backend that exited since an earlier call takes
// its time with it; the servers keep their connection open.
func (p *postgres) cpu() (time.Duration, error) {
	pm := p.cmd.Process.Pid
	total, err := proc.CPUTime(pm)
	if err != nil {
		return 0, err
	}
	children, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pm, pm))
	if err != nil {
		return 0, err
	}
	for _, f := range strings.Fields(string(children)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return 0, fmt.Errorf("postgres's children: %w", err)
		}
		if t, err := proc.CPUTime(pid); err == nil { // a child may have exited meanwhile
			total += t
		}
	}
	return total, nil
}

// stop shuts the cluster down (a fast shutdown, then an immediate one,
// then SIGKILL) and removes its directory.
func (p *postgres) stop() error {
	defer os.RemoveAll(p.dir)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		_ = p.cmd.Process.Signal(sig)
		select {
		case <-p.exited:
			return nil
		case <-time.After(pgStopTimeout):
		}
	}
	return fmt.Errorf("postgres (pid %d) did not exit", p.cmd.Process.Pid)
}

func (p *postgres) logPath() string { return filepath.Join(p.dir, "postgres.log") }

// logTail returns the end of the cluster's log, for error messages.
func (p *postgres) logTail() string {
	const max = 4 << 10
	f, err := os.Open(p.logPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		_, _ = f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}
