package sse

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ginstream/ginstream/generator"
)

// writersPatience bounds every wait of the pool's tests: a deadlock guard,
// not a performance claim.
const writersPatience = 10 * time.Second

// recorder is a pooled subscription of the tests, which records the data
// of the events its pool yields, and fails the test if two writers yield
// to it at once.
type recorder struct {
	t     *testing.T
	p     *pooled
	topic *topic
	gate  <-chan struct{} // if not nil, each yield waits for it: a client that does not read

	in   atomic.Bool // a writer is yielding
	mu   sync.Mutex
	got  []string
	grew chan struct{}
}

// subscribeRecorder subscribes a recorder to h's topic "news" through ws.
func subscribeRecorder(t *testing.T, h *MemHub, ws *writers, gate <-chan struct{}) *recorder {
	t.Helper()
	r := &recorder{t: t, gate: gate, grew: make(chan struct{}, 1)}
	topic, start, err := h.join("news", "")
	if err != nil {
		t.Fatal(err)
	}
	r.topic = topic
	r.p = &pooled{pool: ws, es: &eventStream{silence: silence{yield: r.yield}}, done: make(chan struct{})}
	r.p.subscribe(topic.log, start)
	ws.schedule(r.p)
	return r
}

func (r *recorder) yield(f Frame) error {
	if r.in.Swap(true) {
		r.t.Error("two writers yield to one subscription at once")
	}
	defer r.in.Store(false)
	data := f.Event().Data
	r.mu.Lock()
	r.got = append(r.got, data)
	r.mu.Unlock()
	select {
	case r.grew <- struct{}{}:
	default:
	}
	if r.gate != nil {
		<-r.gate
	}
	return nil
}

// waitFor waits until the recorder has received n events, and returns
// their data.
func (r *recorder) waitFor(n int) []string {
	r.t.Helper()
	deadline := time.After(writersPatience)
	for {
		r.mu.Lock()
		got := append([]string(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.grew:
		case <-deadline:
			r.t.Fatalf("received %d events in %v, want %d", len(got), writersPatience, n)
		}
	}
}

// end ends the subscription, as its handler does.
func (r *recorder) end(h *MemHub) {
	r.p.finish(context.Canceled)
	r.p.end()
	r.p.pool.detach()
	h.leave("news", r.topic)
}

// waitEnded waits until the pool has no writer left.
func waitEnded(t *testing.T, ws *writers) {
	t.Helper()
	deadline := time.Now().Add(writersPatience)
	for {
		ws.mu.Lock()
		running := ws.running
		ws.mu.Unlock()
		if running == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writers still running %v after the last subscription ended", running, writersPatience)
		}
		time.Sleep(time.Millisecond)
	}
}

func publishData(t *testing.T, h *MemHub, data string) {
	t.Helper()
	if _, err := h.Publish(context.Background(), "news", Event{Data: data}); err != nil {
		t.Fatal(err)
	}
}

// TestWritersStalledSubscriber: a subscriber whose client does not read
// holds up the writer that has it, and no other subscriber: the pool adds
// a writer. Each subscriber gets every event, in order, from one writer at
// a time, and the writers end with the last subscription.
func TestWritersStalledSubscriber(t *testing.T) {
	ws := newWriters()
	h := &MemHub{}
	defer h.Close()
	gate := make(chan struct{})
	stalled := subscribeRecorder(t, h, ws, gate)
	fast := []*recorder{subscribeRecorder(t, h, ws, nil), subscribeRecorder(t, h, ws, nil)}
	var want []string
	for i := range 20 {
		want = append(want, "e"+strconv.Itoa(i))
		publishData(t, h, want[i])
		for _, r := range fast { // they keep up while the stalled one holds a writer
			if got := r.waitFor(i + 1); got[i] != want[i] {
				t.Fatalf("event %d is %q, want %q", i, got[i], want[i])
			}
		}
	}
	if got := stalled.waitFor(1); len(got) != 1 {
		t.Fatalf("the stalled subscriber took %d events, want the one it is stuck on", len(got))
	}
	ws.mu.Lock()
	running := ws.running
	ws.mu.Unlock()
	if running < 2 {
		t.Errorf("%d writers while one is held by a stalled subscriber, want another", running)
	}
	close(gate) // it reads again
	if got := stalled.waitFor(len(want)); len(got) != len(want) || got[len(got)-1] != want[len(want)-1] {
		t.Fatalf("the stalled subscriber, reading again, got %q, want %q", got, want)
	}
	for _, r := range append(fast, stalled) {
		r.end(h)
	}
	waitEnded(t, ws)
}

// TestWritersWokenWhileWriting: an event published while a writer has a
// subscriber, after the writer's last look at the log found nothing more
// and before it set the subscriber idle, reaches the subscriber without a
// further event: the wake that tells of it, which comes while the writer
// has the subscriber, makes the writer look once more.
func TestWritersWokenWhileWriting(t *testing.T) {
	ws := newWriters()
	h := &MemHub{}
	defer h.Close()
	var published atomic.Int32
	afterTakeHook = func() {
		if n := published.Add(1); n <= 3 { // on the writer's goroutine: no t.Fatal
			if _, err := h.Publish(context.Background(), "news", Event{Data: "late" + strconv.Itoa(int(n))}); err != nil {
				t.Error(err)
			}
		}
	}
	defer func() { afterTakeHook = nil }()
	r := subscribeRecorder(t, h, ws, nil)
	if got := r.waitFor(3); got[0] != "late1" || got[2] != "late3" {
		t.Fatalf("got %q, want late1 … late3", got)
	}
	r.end(h)
	waitEnded(t, ws)
}

// TestWritersPanic: a panic under a subscription's yield, on a writer of
// the pool, ends that subscription with a *generator.PanicError; the
// writer goes on with the others.
func TestWritersPanic(t *testing.T) {
	ws := newWriters()
	h := &MemHub{}
	defer h.Close()
	topic, start, err := h.join("news", "")
	if err != nil {
		t.Fatal(err)
	}
	p := &pooled{pool: ws, es: &eventStream{silence: silence{yield: func(Frame) error { panic("boom") }}}, done: make(chan struct{})}
	p.subscribe(topic.log, start)
	ws.schedule(p)
	other := subscribeRecorder(t, h, ws, nil)
	publishData(t, h, "e")
	select {
	case <-p.done:
	case <-time.After(writersPatience):
		t.Fatalf("the subscription whose yield panicked did not end in %v", writersPatience)
	}
	var pe *generator.PanicError
	if !errors.As(p.err, &pe) || pe.Value != "boom" {
		t.Errorf("it ended with %v, want a *generator.PanicError of the panic", p.err)
	}
	if got := other.waitFor(1); got[0] != "e" {
		t.Errorf("the other subscription got %q", got)
	}
	p.end()
	ws.detach()
	h.leave("news", topic)
	other.end(h)
	waitEnded(t, ws)
}

// TestWritersCall: call runs f on a writer and returns once it has run;
// a panic in f reaches the caller, and the writers end after it.
func TestWritersCall(t *testing.T) {
	ws := newWriters()
	ran := false
	ws.call(func() { ran = true })
	if !ran {
		t.Fatal("call returned before f ran")
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want f's panic", p)
			}
		}()
		ws.call(func() { panic("boom") })
		t.Error("call returned after f panicked")
	}()
	waitEnded(t, ws)
}

// jobFunc is a job of the tests.
type jobFunc func()

func (f jobFunc) run() { f() }

// TestWritersCrowded: a queue that grows to crowdedQueue while every
// writer is busy gets one writer more at once (not after writerPatience),
// up to one per processor; a shorter queue waits for the one it has.
func TestWritersCrowded(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	synctest.Test(t, func(t *testing.T) {
		ws := newWriters()
		ws.attach()
		release := make(chan struct{})
		running := func() int {
			ws.mu.Lock()
			defer ws.mu.Unlock()
			return ws.running
		}
		defer func() { // also after a failure: no writer left blocked
			close(release)
			ws.detach()
			synctest.Wait()
			if n := running(); n != 0 {
				t.Errorf("%d writers left after the last detach", n)
			}
		}()
		ws.schedule(jobFunc(func() { <-release })) // holds the first writer
		synctest.Wait()
		for i := range crowdedQueue - 1 {
			ws.schedule(jobFunc(func() { <-release }))
			if n := running(); n != 1 {
				t.Fatalf("%d queued: %d writers, want 1", i+1, n)
			}
		}
		ws.schedule(jobFunc(func() { <-release })) // the queue is crowded
		if n := running(); n != 2 {
			t.Fatalf("%d queued: %d writers, want 2", crowdedQueue, n)
		}
		synctest.Wait() // the new writer takes one, and blocks on it
		ws.mu.Lock()
		queued := len(ws.queue) - ws.head
		ws.mu.Unlock()
		for range crowdedQueue - queued { // crowded again: GOMAXPROCS writers already
			ws.schedule(jobFunc(func() { <-release }))
		}
		if n := running(); n != 2 {
			t.Errorf("crowded again: %d writers, want 2, one per processor", n)
		}
	})
}
