package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/fanout"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// fdReserve is the file descriptors a process needs besides its
// subscribers' sockets: listeners, pipes, the debug client, the runtime.
const fdReserve = 64

// measure runs the reference (if asked for) and the load, and returns the
// result.
func measure(ctx context.Context, cfg config, stderr io.Writer) (*Result, error) {
	limit, err := proc.RaiseFileLimit()
	if err != nil {
		return nil, err
	}
	if uint64(cfg.subscribers)+fdReserve > limit {
		return nil, fmt.Errorf("%d subscribers need %d file descriptors, and the limit (ulimit -n, hard) is %d",
			cfg.subscribers, cfg.subscribers+fdReserve, limit)
	}
	res := &Result{
		Handler:     cfg.server,
		Subscribers: cfg.subscribers,
		Rate:        cfg.rate,
		DurationS:   cfg.duration.Seconds(),
		WarmupS:     cfg.warmup.Seconds(),
		Payload:     cfg.payload,
	}
	if cfg.reference {
		ref, err := idlePhases(ctx, cfg, stderr)
		if err != nil {
			return nil, fmt.Errorf("reference: %w", err)
		}
		res.Reference = &ref
	}
	if err := loadRun(ctx, cfg, res, stderr); err != nil {
		return nil, err
	}
	if res.Reference != nil {
		d := res.Server.PerIdleSubscriber.minus(res.Reference.PerIdleSubscriber)
		res.BeyondNetHTTP = &d
	}
	return res, nil
}

// idlePhases measures the reference handler's baseline and idle memory.
func idlePhases(ctx context.Context, cfg config, stderr io.Writer) (ref Memory, err error) {
	ch, err := startChild(ctx, cfg, handlerReference, stderr)
	if err != nil {
		return ref, err
	}
	defer func() { err = errors.Join(err, ch.stop()) }()
	cl := fanout.New(ch.addr, eventsPath, cfg.subscribers, cfg.payload)
	defer cl.Close()
	if ref, err = connectIdle(ctx, cfg, ch, cl, "reference"); err != nil {
		return ref, err
	}
	if n := cl.Alive.Load(); n != int64(cfg.subscribers) {
		return ref, fmt.Errorf("%d of %d connections failed: %v", cfg.subscribers-int(n), cfg.subscribers, cl.Errors())
	}
	return ref, nil
}

// connectIdle takes the child's baseline, connects the subscribers and
// takes its idle memory.
func connectIdle(ctx context.Context, cfg config, ch *child, cl *fanout.Clients, phase string) (Memory, error) {
	var m Memory
	var err error
	if m.Baseline, err = ch.snapshot(ctx, true); err != nil {
		return m, err
	}
	start := time.Now()
	cl.Start(ctx, cfg.dials)
	if err := cl.WaitReady(ctx, nil); err != nil {
		return m, err
	}
	m.ConnectS = time.Since(start).Seconds()
	if err := ctx.Err(); err != nil {
		return m, err
	}
	m.Connected = int(cl.Alive.Load())
	if m.Idle, err = ch.snapshot(ctx, true); err != nil {
		return m, err
	}
	if cfg.profile != "" {
		if err := ch.saveProfiles(ctx, cfg.profile, phase+"-idle"); err != nil {
			return m, err
		}
	}
	if m.Connected > 0 {
		m.PerIdleSubscriber = perConn(m.Idle, m.Baseline, m.Connected)
	}
	return m, nil
}

// loadRun runs the SSE server's phases and fills in res.
func loadRun(ctx context.Context, cfg config, res *Result, stderr io.Writer) (err error) {
	ch, err := startChild(ctx, cfg, cfg.server, stderr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ch.stop()) }()
	res.ServerPID = ch.pid()
	cl := fanout.New(ch.addr, eventsPath, cfg.subscribers, cfg.payload)
	defer cl.Close()
	if res.Server, err = connectIdle(ctx, cfg, ch, cl, cfg.server); err != nil {
		return err
	}
	res.Connect = ConnectStats{Connected: res.Server.Connected, Failed: int(cl.Failed.Load()), Seconds: res.Server.ConnectS}

	// The window is set before the first event is published.
	winStart := time.Now().Add(cfg.warmup)
	winEnd := winStart.Add(cfg.duration)
	cl.Load.Set(winStart, winEnd)
	if err := ch.startPublishing(ctx); err != nil {
		return err
	}
	if err := sleepUntil(ctx, winStart); err != nil {
		return err
	}
	cpu0, err := takeCPU(ch.pid())
	if err != nil {
		return err
	}
	waitProfiles := func() error { return nil }
	if cfg.profile != "" {
		if waitProfiles, err = ch.profileCPU(ctx, cfg.profile, cfg.server, cfg.duration); err != nil {
			return err
		}
	}
	load, maxRSS, err := sampleLoad(ctx, ch, winStart, winEnd)
	if err = errors.Join(err, waitProfiles()); err != nil {
		return err
	}
	res.Server.Load, res.Server.MaxLoadRSS = &load, maxRSS
	cpu1, err := takeCPU(ch.pid())
	if err != nil {
		return err
	}

	// Drain: wait for every subscriber still connected to receive an
	// event published after the window, so that every event of the
	// window that will arrive has.
	drainEnd := time.Now().Add(drainTimeout)
	for cl.Load.Finished.Load() < cl.Alive.Load() && time.Now().Before(drainEnd) {
		if err := sleepUntil(ctx, time.Now().Add(20*time.Millisecond)); err != nil {
			return err
		}
	}
	res.ConnectedAtEnd = int(cl.Alive.Load())
	end, err := ch.snapshot(ctx, false)
	if err != nil {
		return err
	}
	res.Server.End = &end
	res.ServerSubscribersAtEnd = end.Subscribers
	if cfg.profile != "" {
		if err := ch.saveProfiles(ctx, cfg.profile, cfg.server+"-load"); err != nil {
			return err
		}
	}
	cl.Close()
	res.tally(cl, cpu1.minus(cpu0))
	return nil
}

// sampleLoad samples the child's RSS every second of the window, and its
// runtime figures (without a GC, which would disturb the latencies) about
// halfway through, and returns when the window ends.
func sampleLoad(ctx context.Context, ch *child, winStart, winEnd time.Time) (mid Snapshot, maxRSS int64, err error) {
	half := winStart.Add(winEnd.Sub(winStart) / 2)
	tookMid := false
	for t := winStart; t.Before(winEnd); t = t.Add(time.Second) {
		if err := sleepUntil(ctx, t); err != nil {
			return mid, 0, err
		}
		rss, err := proc.RSS(ch.pid())
		if err != nil {
			return mid, 0, err
		}
		maxRSS = max(maxRSS, rss)
		if !tookMid && !t.Before(half) {
			if mid, err = ch.snapshot(ctx, false); err != nil {
				return mid, 0, err
			}
			tookMid = true
		}
	}
	if err := sleepUntil(ctx, winEnd); err != nil {
		return mid, 0, err
	}
	if !tookMid {
		if mid, err = ch.snapshot(ctx, false); err != nil {
			return mid, 0, err
		}
	}
	return mid, max(maxRSS, mid.RSS), nil
}

// cpuSample is the CPU time used so far by the server, the clients (this
// process) and the machine.
type cpuSample struct {
	server, clients, busy, irq time.Duration
}

// takeCPU samples the CPU time of the server child pid, of this process
// and of the machine.
func takeCPU(pid int) (s cpuSample, err error) {
	if s.server, err = proc.CPUTime(pid); err != nil {
		return s, err
	}
	if s.clients, err = proc.CPUTime(os.Getpid()); err != nil {
		return s, err
	}
	s.busy, s.irq, err = proc.MachineCPU()
	return s, err
}

// minus returns the CPU time used from t to s.
func (s cpuSample) minus(t cpuSample) cpuSample {
	return cpuSample{s.server - t.server, s.clients - t.clients, s.busy - t.busy, s.irq - t.irq}
}

// sleepUntil sleeps until t or until ctx ends, and then returns its error.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
