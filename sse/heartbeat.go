package sse

import (
	"sync"
	"sync/atomic"
	"time"
)

// heartbeatFrame is the comment a heartbeat sends.
var heartbeatFrame = mustFrame(Event{Comment: "heartbeat"})

// heartbeat sends a comment through yield whenever a stream has been silent
// for an interval, so that proxies keep the connection open and a dead
// client is noticed. It runs on a timer, not a goroutine of its own: the
// timer's function runs only to send a heartbeat, and stop joins it. The
// zero value with only yield set sends no heartbeat: its send only yields.
//
// yield must be safe for concurrent use, as a generator stream's and
// sink.Writer.StreamInline's are, since
// the heartbeat calls it from the timer's goroutine.
type heartbeat struct {
	// Read by every send, first, so that they share a line of memory.
	yield    func(Frame) error
	interval time.Duration // zero: no heartbeat
	start    time.Time
	last     atomic.Int64 // when the stream last sent something, since start

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	running sync.WaitGroup // the timer's function, armed or running
}

// begin starts sending heartbeats through hb.yield every interval of
// silence.
func (hb *heartbeat) begin(interval time.Duration) {
	hb.interval, hb.start = interval, time.Now()
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.running.Add(1)
	hb.timer = time.AfterFunc(interval, hb.fire)
}

// send yields f, which resets the heartbeat's countdown.
func (hb *heartbeat) send(f Frame) error {
	err := hb.yield(f)
	if hb.interval > 0 {
		hb.last.Store(int64(time.Since(hb.start)))
	}
	return err
}

// fire sends a heartbeat if the stream has been silent for an interval,
// and arms the timer for the end of the next silent interval.
func (hb *heartbeat) fire() {
	defer hb.running.Done()
	silent := time.Since(hb.start) - time.Duration(hb.last.Load())
	if silent >= hb.interval {
		if hb.send(heartbeatFrame) != nil {
			return // the stream is over
		}
		silent = 0
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if !hb.stopped {
		hb.running.Add(1)
		hb.timer.Reset(hb.interval - silent)
	}
}

// stop stops the heartbeats, if they were begun, and waits for one being
// sent.
func (hb *heartbeat) stop() {
	hb.mu.Lock()
	hb.stopped = true
	if hb.timer != nil && hb.timer.Stop() {
		hb.running.Done() // it will not run
	}
	hb.mu.Unlock()
	hb.running.Wait()
}
