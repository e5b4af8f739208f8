package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/latency"
)

// drainTimeout bounds the wait, after the window, for every subscriber to
// receive an event due after it.
const drainTimeout = 10 * time.Second

// LatencyResult is what a latency run measured.
type LatencyResult struct {
	Hub         string  `json:"hub"`
	Instances   int     `json:"instances"`
	Subscribers int     `json:"subscribers_per_instance"`
	Rate        float64 `json:"events_per_s"`
	Published   int64   `json:"published_in_window"`
	Expected    int64   `json:"deliveries_expected"`
	Delivered   int64   `json:"deliveries"`
	Gaps        int64   `json:"gaps"`
	Disordered  int64   `json:"disordered"`
	Named       int64   `json:"named_events"`
	Ended       int     `json:"streams_ended"`
	Finished    int64   `json:"subscribers_past_window"`
	MaxLagMs    float64 `json:"publisher_max_lag_ms"`
	CPUSeconds  float64 `json:"process_cpu_s"`
	All         Latency `json:"latency"`
	Same        Latency `json:"latency_same_instance"`
	Cross       Latency `json:"latency_cross_instance"`
}

// latencyRun runs instances of a hub kind with subscribers each, publishes
// rate events a second in all (instance i publishing every i-th, on a
// fixed schedule: a late event is published at once, never skipped) and
// measures delivery latency from each event's due time over the window.
func latencyRun(ctx context.Context, kind string, instances, subscribers int, rate float64, warmup, duration time.Duration) (LatencyResult, error) {
	res := LatencyResult{Hub: kind, Instances: instances, Subscribers: subscribers, Rate: rate}
	c, err := startCluster(kind, instances)
	if err != nil {
		return res, err
	}
	defer c.close()
	var urls []string
	for _, in := range c.instances {
		urls = append(urls, in.url)
	}
	cl := newClients(urls, subscribers)
	if err := cl.connect(ctx, urls, 64); err != nil {
		return res, err
	}
	defer cl.close()
	if err := c.waitSubscribed(ctx, instances*subscribers); err != nil {
		return res, err
	}

	start := time.Now().Add(warmup)
	end := start.Add(duration)
	cl.win.start.Store(start.UnixNano())
	cl.win.end.Store(end.UnixNano())
	cpu0 := cpuTime()
	pubCtx, stopPublishing := context.WithCancel(ctx)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		published int64
		maxLag    time.Duration
		pubErr    error
	)
	interval := time.Duration(float64(time.Second) / rate)
	t0 := time.Now()
	for i, in := range c.instances {
		wg.Go(func() {
			for k := int64(i); ; k += int64(instances) {
				due := t0.Add(time.Duration(k) * interval)
				if d := time.Until(due); d > 0 {
					select {
					case <-pubCtx.Done():
						return
					case <-time.After(d):
					}
				}
				if pubCtx.Err() != nil {
					return
				}
				lag := time.Since(due)
				data := strconv.FormatInt(due.UnixNano(), 10) + " " + strconv.Itoa(i)
				if _, err := in.hub.Publish(pubCtx, topic, eventOf(data)); err != nil {
					mu.Lock()
					if pubCtx.Err() == nil {
						pubErr = cmpOr(pubErr, err)
					}
					mu.Unlock()
					return
				}
				mu.Lock()
				if !due.Before(start) && due.Before(end) {
					published++
				}
				maxLag = max(maxLag, lag)
				mu.Unlock()
			}
		})
	}
	// After the window: until every subscriber has had an event due after
	// it, or the drain timeout.
	wait := func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(end)):
		}
		deadline := time.Now().Add(drainTimeout)
		for cl.after.Load() < int64(len(cl.subs)) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait()
	res.CPUSeconds = (cpuTime() - cpu0).Seconds()
	stopPublishing()
	wg.Wait()
	cl.close()
	if pubErr != nil {
		return res, fmt.Errorf("publish: %w", pubErr)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}

	var all, same, cross latency.Histogram
	for _, s := range cl.subs {
		same.Merge(&s.same)
		cross.Merge(&s.cross)
		res.Gaps += s.gaps
		res.Disordered += s.disordered
		res.Named += s.named
		if s.ended != nil {
			res.Ended++
		}
	}
	all.Merge(&same)
	all.Merge(&cross)
	res.Published = published
	res.Expected = published * int64(len(cl.subs))
	res.Delivered = all.Count()
	res.Finished = cl.after.Load()
	res.MaxLagMs = float64(maxLag.Microseconds()) / 1e3
	res.All, res.Same, res.Cross = summary(&all), summary(&same), summary(&cross)
	return res, nil
}

// CeilingResult is what a ceiling run measured.
type CeilingResult struct {
	Hub         string  `json:"hub"`
	Subscribers int     `json:"subscribers"`
	Publishers  int     `json:"publishers"`
	Seconds     float64 `json:"seconds"`
	Published   int64   `json:"published"`
	Delivered   int64   `json:"delivered_to_slowest"`
	EventsPerS  float64 `json:"events_per_s"`
	Gaps        int64   `json:"gaps"`
	Ended       int     `json:"streams_ended"`
}

// ceilingWindow is how many events the publishers may be ahead of the
// slowest subscriber: below a hub's default buffer (256), so that nobody
// is slow enough to be disconnected.
const ceilingWindow = 128

// ceilingRun measures the throughput ceiling of one instance: publishers
// publish as fast as the slowest of the subscribers keeps up with, for
// duration, and the result is the events every subscriber received per
// second.
func ceilingRun(ctx context.Context, kind string, subscribers, publishers int, duration time.Duration) (CeilingResult, error) {
	res := CeilingResult{Hub: kind, Subscribers: subscribers, Publishers: publishers}
	c, err := startCluster(kind, 1)
	if err != nil {
		return res, err
	}
	defer c.close()
	urls := []string{c.instances[0].url}
	cl := newClients(urls, subscribers)
	if err := cl.connect(ctx, urls, 64); err != nil {
		return res, err
	}
	defer cl.close()
	if err := c.waitSubscribed(ctx, subscribers); err != nil {
		return res, err
	}
	hub := c.instances[0].hub
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		published int64
		pubErr    error
	)
	start := time.Now()
	for range publishers {
		wg.Go(func() {
			for runCtx.Err() == nil {
				mu.Lock()
				ahead := published - cl.minReceived()
				if ahead < ceilingWindow {
					published++
				}
				mu.Unlock()
				if ahead >= ceilingWindow {
					select { // until a subscriber receives an event
					case <-cl.progress:
					case <-runCtx.Done():
					}
					continue
				}
				if _, err := hub.Publish(runCtx, topic, eventOf("0 0")); err != nil {
					mu.Lock()
					if runCtx.Err() == nil {
						pubErr = cmpOr(pubErr, err)
					}
					published--
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	res.Delivered = cl.minReceived()
	res.Published = published
	cl.close()
	if pubErr != nil && !errors.Is(pubErr, context.DeadlineExceeded) {
		return res, fmt.Errorf("publish: %w", pubErr)
	}
	for _, s := range cl.subs {
		res.Gaps += s.gaps
		if s.ended != nil {
			res.Ended++
		}
	}
	res.EventsPerS = float64(res.Delivered) / res.Seconds
	return res, nil
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Latency is a summary of a histogram, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// summary returns h's percentiles.
func summary(h *latency.Histogram) Latency {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return Latency{Count: h.Count(), P50: ms(h.Quantile(0.5)), P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}
