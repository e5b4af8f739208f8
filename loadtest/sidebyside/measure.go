package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/child"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// Timing of a measurement.
const (
	// settle is how long a server is left alone between saying that it
	// serves and the measurement's start, for its start-up to finish.
	settle = 200 * time.Millisecond
	// rssEvery is how often the server's RSS is sampled.
	rssEvery = 25 * time.Millisecond
)

// measurement is one client run against one fresh server.
type measurement struct {
	client     clientResult
	clientCPU  time.Duration // the client child's CPU time
	serverCPU  time.Duration // the server's CPU time during the client's run
	dbCPU      time.Duration // the database's CPU time meanwhile, for the export
	machineCPU time.Duration // the whole machine's busy CPU time meanwhile
	wall       time.Duration // the client's run, from its start to its exit
	rssBefore  int64         // the server's RSS before the client started
	rssPeak    int64         // the highest RSS sampled during the run, at least rssBefore
}

// rssGrowth returns the server's RSS growth during the run, in bytes.
func (m measurement) rssGrowth() int64 { return m.rssPeak - m.rssBefore }

// measure runs a client child that GETs path from srv on conns
// connections at once, and measures srv meanwhile, and the database with
// dbCPU if it is not nil.
func measure(ctx context.Context, srv *child.Server, path string, conns int, h2c bool, timeout time.Duration, dbCPU func() (time.Duration, error)) (measurement, error) {
	if dbCPU == nil {
		dbCPU = func() (time.Duration, error) { return 0, nil }
	}
	var m measurement
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return m, ctx.Err()
	}
	pid := srv.PID()
	cpu0, err := proc.CPUTime(pid)
	if err != nil {
		return m, err
	}
	if m.rssBefore, err = proc.RSS(pid); err != nil {
		return m, err
	}
	machine0, _, err := proc.MachineCPU()
	if err != nil {
		return m, err
	}
	db0, err := dbCPU()
	if err != nil {
		return m, err
	}
	s := sampleRSS(pid, m.rssBefore)
	start := time.Now()
	wait, err := startClient(ctx, "http://"+srv.Addr()+path, conns, timeout, h2c)
	if err != nil {
		_, _ = s.stop()
		return m, err
	}
	run, err := wait()
	m.wall = time.Since(start)
	m.client, m.clientCPU = run.result, run.cpu
	peak, serr := s.stop()
	cpu1, cerr := proc.CPUTime(pid)
	machine1, _, merr := proc.MachineCPU()
	db1, derr := dbCPU()
	if err := errors.Join(err, serr, cerr, merr, derr); err != nil {
		return m, err
	}
	m.rssPeak = peak
	m.serverCPU = cpu1 - cpu0
	m.dbCPU = db1 - db0
	m.machineCPU = machine1 - machine0
	return m, nil
}

// rssSampler samples a process's RSS every rssEvery on a goroutine of its
// own, until stop.
type rssSampler struct {
	quit chan struct{}
	wg   sync.WaitGroup
	peak int64 // read after wg.Wait
	err  error // the first failure to read the RSS; read after wg.Wait
}

// sampleRSS starts sampling process pid's RSS, from a first sample of
// first bytes.
func sampleRSS(pid int, first int64) *rssSampler {
	s := &rssSampler{quit: make(chan struct{}), peak: first}
	s.wg.Go(func() {
		t := time.NewTicker(rssEvery)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				s.sample(pid)
				return
			case <-t.C:
				s.sample(pid)
			}
		}
	})
	return s
}

// sample reads the RSS once.
func (s *rssSampler) sample(pid int) {
	rss, err := proc.RSS(pid)
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.peak = max(s.peak, rss)
}

// stop takes a last sample, ends the sampling and returns the peak.
func (s *rssSampler) stop() (int64, error) {
	close(s.quit)
	s.wg.Wait()
	return s.peak, s.err
}
