package main

import (
	"context"
	"sync"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// sampleEvery is how often the sampler samples the server.
const sampleEvery = 250 * time.Millisecond

// sample is the server's state at one moment.
type sample struct {
	at         time.Time
	rss        int64 // VmRSS
	heap       int64 // go_memstats_heap_inuse_bytes
	live       int64 // go_gc_heap_live_bytes: live at the last GC
	goroutines int64 // go_goroutines
	active     int64 // its active streams, all routes (serverProcess.active)
}

// takeSample samples the server now.
func takeSample(ctx context.Context, d *serverProcess) (sample, error) {
	s := sample{at: time.Now()}
	var err error
	if s.rss, err = proc.RSS(d.pid()); err != nil {
		return s, err
	}
	m, err := d.scrape(ctx)
	if err != nil {
		return s, err
	}
	s.heap = int64(m.sum("go_memstats_heap_inuse_bytes"))
	s.live = int64(m.sum("go_gc_heap_live_bytes"))
	s.goroutines = int64(m.sum("go_goroutines"))
	s.active = int64(m.sum(d.active))
	return s, nil
}

// sampler samples a server every sampleEvery in a goroutine of its own,
// from startSampler until stop, which joins it.
type sampler struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	samples []sample
	errs    int   // samples that failed
	lastErr error // the last failure
}

// startSampler starts sampling d.
func startSampler(ctx context.Context, d *serverProcess) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{cancel: cancel}
	s.wg.Go(func() {
		t := time.NewTicker(sampleEvery)
		defer t.Stop()
		for {
			smp, err := takeSample(ctx, d)
			s.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					s.errs++
					s.lastErr = err
				}
			} else {
				s.samples = append(s.samples, smp)
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return s
}

// stop stops sampling and returns the samples.
func (s *sampler) stop() []sample {
	s.cancel()
	s.wg.Wait()
	return s.samples
}

// peak returns the highest values of the samples taken in [from, to).
func peak(samples []sample, from, to time.Time) (p sample, n int) {
	for _, s := range samples {
		if s.at.Before(from) || !s.at.Before(to) {
			continue
		}
		n++
		p.rss = max(p.rss, s.rss)
		p.heap = max(p.heap, s.heap)
		p.live = max(p.live, s.live)
		p.goroutines = max(p.goroutines, s.goroutines)
		p.active = max(p.active, s.active)
	}
	return p, n
}

// waitGoroutines samples the server's goroutines until they are at most
// limit or timeout has passed, and returns the last count and how long it
// took.
func waitGoroutines(ctx context.Context, d *serverProcess, limit int64, timeout time.Duration) (int64, time.Duration, error) {
	start := time.Now()
	for {
		s, err := takeSample(ctx, d)
		if err != nil {
			return 0, 0, err
		}
		if s.goroutines <= limit || time.Since(start) > timeout {
			return s.goroutines, time.Since(start), nil
		}
		if err := sleepCtx(ctx, sampleEvery); err != nil {
			return 0, 0, err
		}
	}
}

// baseline samples the idle server a few times and returns the lowest
// goroutine count, and the highest RSS and heap.
func baseline(ctx context.Context, d *serverProcess) (sample, error) {
	var b sample
	for i := range 4 {
		s, err := takeSample(ctx, d)
		if err != nil {
			return b, err
		}
		if i == 0 || s.goroutines < b.goroutines {
			b.goroutines = s.goroutines
		}
		b.rss, b.heap, b.live = max(b.rss, s.rss), max(b.heap, s.heap), max(b.live, s.live)
		if err := sleepCtx(ctx, sampleEvery); err != nil {
			return b, err
		}
	}
	b.at = time.Now()
	return b, nil
}
