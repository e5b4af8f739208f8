package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ginstream/ginstream/internal/pgtest"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// errNoPostgres reports that PostgreSQL cannot be run here; the export is
// then skipped.
var errNoPostgres = pgtest.ErrUnavailable

// postgres is the export's throwaway cluster, started as the tests start
// theirs (internal/pgtest: a temporary directory, a Unix socket only,
// trust authentication, no durability, under root the user postgres),
// owned by the run that started it.
type postgres struct{ *pgtest.Server }

// startPostgres starts a cluster with the programs in bin and waits until
// it accepts connections. It returns an error matching errNoPostgres if
// PostgreSQL cannot be run here.
func startPostgres(ctx context.Context, bin string) (*postgres, error) {
	srv, err := pgtest.StartIn(ctx, bin)
	if err != nil {
		return nil, err
	}
	return &postgres{srv}, nil
}

// url returns the cluster's postgres:// URL, for the servers' -db flag.
func (p *postgres) url() string { return p.URL() }

// stop shuts the cluster down and removes its directory.
func (p *postgres) stop() error { return p.Stop() }

// cpu returns the CPU time used by the cluster's processes: the
// postmaster and its children (the backends serving the connections, the
// background workers). A backend that exited since an earlier call takes
// its time with it; the servers keep their connection open.
func (p *postgres) cpu() (time.Duration, error) {
	pm := p.PID()
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
