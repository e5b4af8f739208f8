package sse

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestBeats: a pooled subscription's heartbeats, written by its pool,
// follow every interval of silence counted from its last frame, at the
// times an inline stream's timer sends them (TestWriterHeartbeat), on the
// fake clock; none is sent once it has left the schedule.
func TestBeats(t *testing.T) {
	type write struct {
		At   time.Duration
		What string
	}
	synctest.Test(t, func(t *testing.T) {
		ws := newWriters()
		h := &MemHub{}
		start := time.Now()
		var (
			mu  sync.Mutex
			got []write
		)
		yield := func(f Frame) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, write{time.Since(start), f.Event().Comment + f.Event().Data})
			return nil
		}
		topic, at, err := h.join("news", "")
		if err != nil {
			t.Fatal(err)
		}
		p := &pooled{pool: ws, es: &eventStream{silence: silence{yield: yield}}, done: make(chan struct{})}
		p.subscribe(topic.log, at)
		p.es.track(4 * time.Second)
		ws.beats.add(p, clock()+4*time.Second)
		ws.schedule(p)

		time.Sleep(10 * time.Second)
		publishData(t, h, "e1")
		time.Sleep(25 * time.Second)
		publishData(t, h, "e2")
		time.Sleep(35 * time.Second)
		synctest.Wait()
		ws.beats.remove(p)
		time.Sleep(20 * time.Second) // no heartbeat: it has left the schedule
		p.finish(nil)
		p.end()
		ws.detach()
		h.leave("news", topic)

		const hb = "heartbeat"
		s := time.Second
		want := []write{
			{4 * s, hb}, {8 * s, hb}, {10 * s, "e1"}, {14 * s, hb}, {18 * s, hb},
			{22 * s, hb}, {26 * s, hb}, {30 * s, hb}, {34 * s, hb},
			{35 * s, "e2"}, {39 * s, hb}, {43 * s, hb}, {47 * s, hb}, {51 * s, hb}, {55 * s, hb}, {59 * s, hb},
			{63 * s, hb}, {67 * s, hb},
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, want) {
			t.Errorf("writes:\n got %v\nwant %v", got, want)
		}
		if len(ws.beats.due) != 0 || ws.beats.armed {
			t.Errorf("the schedule holds %d heartbeats (armed %v) after the last left", len(ws.beats.due), ws.beats.armed)
		}
	})
}
