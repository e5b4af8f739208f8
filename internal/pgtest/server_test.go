package pgtest_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ginstream/ginstream/internal/pgtest"
)

// TestPGStartQueryStop starts a server, queries it, stops it, and checks
// that no process or file of it is left behind.
func TestPGStartQueryStop(t *testing.T) {
	srv := pgtest.New(t)
	db := pgtest.Open(t, srv.DSN())

	var one int
	if err := db.QueryRowContext(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v; want 1, nil", one, err)
	}
	for setting, want := range map[string]string{
		"listen_addresses":   "", // no TCP at all: the Unix socket only
		"fsync":              "off",
		"server_encoding":    "UTF8",
		"server_version_num": "15",
	} {
		var got string
		if err := db.QueryRowContext(t.Context(), "SELECT current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if setting == "server_version_num" {
			got = got[:2]
		}
		if got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}

	// Every process of the cluster: the backends and auxiliary processes
	// listed in pg_stat_activity, and the postmaster, our backend's parent.
	var pids []int
	rows, err := db.QueryContext(t.Context(), "SELECT pid FROM pg_stat_activity")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var backend int
	if err := db.QueryRowContext(t.Context(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		t.Fatal(err)
	}
	postmaster := parentPID(t, backend)
	pids = append(pids, postmaster)
	if len(pids) < 3 {
		t.Fatalf("found processes %v; want the postmaster, our backend and auxiliary processes", pids)
	}

	// PostgreSQL refuses to run as root, so the tests running as root run it
	// as the user "postgres".
	wantUID := os.Geteuid()
	if wantUID == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		if wantUID, err = strconv.Atoi(u.Uid); err != nil {
			t.Fatal(err)
		}
	}
	if uid := processUID(t, postmaster); uid != wantUID {
		t.Errorf("postmaster runs as uid %d, want %d", uid, wantUID)
	}

	cfg, err := pgconn.ParseConfig(srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	dir := cfg.Host // the socket's directory is the server's own
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("server directory: %v", err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v, want nil", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d of the cluster still exists after Stop (kill 0: %v)", pid, err)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server directory %s after Stop: %v, want it removed", dir, err)
	}
}

// procStatus returns a field of /proc/pid/status.
func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return ""
}

func parentPID(t *testing.T, pid int) int {
	t.Helper()
	ppid, err := strconv.Atoi(procStatus(t, pid, "PPid"))
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

func processUID(t *testing.T, pid int) int {
	t.Helper()
	uid, err := strconv.Atoi(strings.Fields(procStatus(t, pid, "Uid"))[1]) // real, effective, ...
	if err != nil {
		t.Fatal(err)
	}
	return uid
}

// TestPGDBGivesEachTestAFreshDatabase checks the isolation of tests sharing
// the binary's server: each gets its own empty database, dropped after it.
func TestPGDBGivesEachTestAFreshDatabase(t *testing.T) {
	srv := pgtest.Shared(t)
	if again := pgtest.Shared(t); again != srv {
		t.Fatal("under Main, Shared started a second server")
	}

	var names []string
	for _, name := range []string{"first", "second"} {
		t.Run(name, func(t *testing.T) {
			db := srv.DB(t)
			var current string
			var marker sql.NullString
			err := db.QueryRowContext(t.Context(), "SELECT current_database(), to_regclass('marker')::text").Scan(&current, &marker)
			if err != nil {
				t.Fatal(err)
			}
			if marker.Valid {
				t.Errorf("database %s already has the table another test created", current)
			}
			if _, err := db.ExecContext(t.Context(), "CREATE TABLE marker (x int)"); err != nil {
				t.Fatal(err)
			}
			names = append(names, current)
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %q, want two different ones", names)
	}

	admin := pgtest.Open(t, srv.DSN())
	var left int
	if err := admin.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of the databases %q still exist after their tests", left, names)
	}
}

// recordingTB is a testing.TB that records a skip or a failure instead of
// reporting it; like the real ones, Skipf and Fatalf end the goroutine.
type recordingTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestPGNewWithoutPostgreSQL checks that a machine without PostgreSQL skips
// the database tests, except in CI, where it fails them.
func TestPGNewWithoutPostgreSQL(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		wantFail bool
	}{
		{"outside CI the test is skipped", "", false},
		{"CI=false counts as outside CI", "false", false},
		{"CI=true fails the test", "true", true},
		{"CI=1 fails the test", "1", true},
		{"any other CI value fails the test", "yes", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PGTEST_BINDIR", t.TempDir()) // no initdb in it
			t.Setenv("CI", tt.ci)

			if _, err := pgtest.Start(t.Context()); !errors.Is(err, pgtest.ErrUnavailable) {
				t.Errorf("Start: %v, want ErrUnavailable", err)
			}

			rec := &recordingTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				pgtest.New(rec)
				t.Error("New returned a server")
			}()
			<-done
			if rec.failed != tt.wantFail || rec.skipped == tt.wantFail {
				t.Errorf("failed = %v, skipped = %v; want failed = %v", rec.failed, rec.skipped, tt.wantFail)
			}
			if !strings.Contains(rec.msg, "initdb") || !strings.Contains(rec.msg, "PGTEST_BINDIR") {
				t.Errorf("message %q should name the missing initdb and PGTEST_BINDIR", rec.msg)
			}
		})
	}
}
