package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/child"
	"github.com/ginstream/ginstream/loadtest/internal/latency"
	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// topicPath is the stream of the reference: the demo's public topic ticks.
const topicPath = "/events?topic=ticks"

// livePhase is what many clients of one live stream measured: a run's
// attached clients, or a topic's subscribers.
type livePhase struct {
	clients, correct int
	errs             errorList

	rssBefore   int64 // the demo's, before the clients connected
	rssAttached int64 // the median while all were attached
	rssEnd      int64 // after the clients' streams ended; 0 for the topic

	window     time.Duration // from when all clients were attached to the end
	cpu        time.Duration // the demo's CPU time in the window
	deliveries int64         // events received in the window, over all clients

	spread       latency.Histogram // arrival less the event's earliest arrival, per client and event
	spreadEvents int               // the events it covers
}

// measureRun starts a demo and in it a count run of cfg.events numbers
// cfg.interval apart, and attaches cfg.clients clients to it until it
// ends, into res.
func measureRun(ctx context.Context, cfg config, d demo, res *livePhase, progress io.Writer) (err error) {
	srv, stop, err := d.start(ctx)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	path, err := startRun(ctx, srv.Addr(), cfg.events, cfg.interval)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(cfg.runLength() + cfg.timeout)
	f := newFleet(srv.Addr(), path, cfg.clients, runSequence(cfg.events), deadline)
	err = measureLive(ctx, cfg, srv, f, res, 0)
	if err == nil {
		res.rssEnd, err = proc.RSS(srv.PID())
	}
	fmt.Fprintf(progress, "run: %d clients attached to %s: %d correct\n", cfg.clients, path, res.correct)
	return err
}

// measureTopic starts a demo that ticks every cfg.interval and subscribes
// cfg.clients clients to its topic ticks for window once all are
// subscribed, into res.
func measureTopic(ctx context.Context, cfg config, d demo, window time.Duration, res *livePhase, progress io.Writer) (err error) {
	srv, stop, err := d.start(ctx, "-event-interval", cfg.interval.String())
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	deadline := time.Now().Add(window + cfg.timeout)
	f := newFleet(srv.Addr(), topicPath, cfg.clients, tickSequence(), deadline)
	err = measureLive(ctx, cfg, srv, f, res, window)
	fmt.Fprintf(progress, "topic: %d clients subscribed to %s for %v: %d correct\n", cfg.clients, topicPath, window.Round(time.Millisecond), res.correct)
	return err
}

// measureLive measures the fleet f of the demo srv into res: the demo's
// RSS after cfg.settle, then f's clients connect; from when all are
// attached, for window (0: until every client's stream has ended), the
// demo's RSS every cfg.interval and its CPU time; then f is closed and its
// clients' streams are checked.
func measureLive(ctx context.Context, cfg config, srv *child.Server, f *fleet, res *livePhase, window time.Duration) (err error) {
	if err := sleep(ctx, cfg.settle); err != nil {
		return err
	}
	pid := srv.PID()
	if res.rssBefore, err = proc.RSS(pid); err != nil {
		return err
	}
	f.start(ctx, cfg.dials)
	defer f.close()
	if err := f.waitReady(ctx); err != nil {
		return err
	}
	from := time.Since(f.base)
	over := func() bool { return f.finished.Load() == int64(len(f.clients)) }
	if window > 0 {
		end := time.Now().Add(window)
		over = func() bool { return !time.Now().Before(end) }
	}
	cpu0, err := proc.CPUTime(pid)
	if err != nil {
		return err
	}
	rss, err := sampleRSS(ctx, pid, cfg.interval, over)
	if err != nil {
		return err
	}
	cpu1, err := proc.CPUTime(pid)
	if err != nil {
		return err
	}
	to := time.Since(f.base)
	f.close()
	res.rssAttached = median(rss)
	res.window, res.cpu = to-from, cpu1-cpu0
	res.tally(f, from, to)
	return nil
}

// tally checks the clients of f and counts their deliveries in [from,
// to], and the spread of the arrivals of the events that every correct
// client received, first at from or later.
func (res *livePhase) tally(f *fleet, from, to time.Duration) {
	var ok []*client
	lo, hi := 0, -1 // the indexes every correct client received
	for i := range f.clients {
		c := &f.clients[i]
		res.clients++
		if err := c.check(); err != nil {
			res.errs.add(err)
			continue
		}
		res.correct++
		for _, at := range c.arrivals {
			if at >= from && at <= to {
				res.deliveries++
			}
		}
		if len(ok) == 0 {
			lo, hi = c.first, c.first+len(c.arrivals)-1
		}
		lo, hi = max(lo, c.first), min(hi, c.first+len(c.arrivals)-1)
		ok = append(ok, c)
	}
	for i := lo; i <= hi; i++ {
		earliest := time.Duration(1<<63 - 1)
		for _, c := range ok {
			at, _ := c.arrival(i)
			earliest = min(earliest, at)
		}
		if earliest < from {
			continue
		}
		res.spreadEvents++
		for _, c := range ok {
			at, _ := c.arrival(i)
			res.spread.Record(at - earliest)
		}
	}
}

// sampleRSS reads the RSS of process pid now and every interval until
// over returns true, and returns the samples.
func sampleRSS(ctx context.Context, pid int, interval time.Duration, over func() bool) (samples []int64, err error) {
	next := time.Now()
	perr := poll(ctx, func() bool {
		if !time.Now().Before(next) {
			var rss int64
			if rss, err = proc.RSS(pid); err != nil {
				return true
			}
			samples, next = append(samples, rss), next.Add(interval)
		}
		return over()
	})
	return samples, errors.Join(err, perr)
}

// median returns the median of xs, which must not be empty.
func median(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// sleep waits for d, or until ctx ends: then it returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
