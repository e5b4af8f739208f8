package sse

import (
	"sync"
	"sync/atomic"
	"time"
)

// heartbeatFrame is the comment a heartbeat sends.
var heartbeatFrame = mustFrame(Event{Comment: "heartbeat"})

// clockStart is the origin of the times that heartbeats keep, so that a
// stream's last write is one int64, on the monotonic clock.
var clockStart = time.Now()

// clock returns the time since clockStart.
func clock() time.Duration { return time.Since(clockStart) }

// silence is what a stream's heartbeats go by: how long the stream may be
// silent, and when it last sent something. Its send yields through it.
// The zero value with only yield set sends no heartbeat: its send only
// yields.
type silence struct {
	// Read by every send, first, so that they share a line of memory.
	yield    func(Frame) error
	interval time.Duration // zero: no heartbeat
	last     atomic.Int64  // clock() when the stream last sent something
}

// track starts counting the stream's silence from now, for heartbeats
// every interval of it; interval zero sends none.
func (s *silence) track(interval time.Duration) {
	s.interval = interval
	s.last.Store(int64(clock()))
}

// send yields f, which resets the heartbeat's countdown.
func (s *silence) send(f Frame) error {
	err := s.yield(f)
	if s.interval > 0 {
		s.last.Store(int64(clock()))
	}
	return err
}

// silent returns how long the stream has been silent at now, a clock()
// reading.
func (s *silence) silent(now time.Duration) time.Duration {
	return now - time.Duration(s.last.Load())
}

// beat sends a heartbeat if the stream has been silent for an interval,
// and returns how long it may stay silent from now before the next is
// due.
func (s *silence) beat() (time.Duration, error) {
	silent := s.silent(clock())
	if silent < s.interval {
		return s.interval - silent, nil
	}
	return s.interval, s.send(heartbeatFrame)
}

// heartbeat sends a stream's heartbeats on a timer of its own, not a
// goroutine: the timer's function runs only to send a heartbeat, and stop
// joins it. (A subscription whose events a pool of writers writes has its
// heartbeats written by the pool: see beats.)
//
// The silence's yield must be safe for concurrent use, as a generator
// stream's and sink.Writer.StreamInline's are, since the heartbeat calls it
// from the timer's goroutine.
type heartbeat struct {
	s       *silence
	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	running sync.WaitGroup // the timer's function, armed or running
}

// begin starts sending heartbeats through s every interval of its
// silence.
func (hb *heartbeat) begin(s *silence, interval time.Duration) {
	hb.s = s
	s.track(interval)
	hb.mu.Lock()
	defer hb.mu.Unlock()
	hb.running.Add(1)
	hb.timer = time.AfterFunc(interval, hb.fire)
}

// fire sends a heartbeat if the stream has been silent for an interval,
// and arms the timer for the end of the next silent interval.
func (hb *heartbeat) fire() {
	defer hb.running.Done()
	next, err := hb.s.beat()
	if err != nil {
		return // the stream is over
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if !hb.stopped {
		hb.running.Add(1)
		hb.timer.Reset(next)
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
