package runs_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// BenchmarkKeptItem measures what an ended run's kept events cost in
// memory, with the Manager's own hub: the live heap after a GC, per event
// kept, for runs of 10,000 events such as a language model's reply (a word
// each, named "token") or a job's log (a line of about 80 bytes each).
// The figure includes the run's record and its end event, shared among
// its events.
//
//	go test -run '^$' -bench KeptItem -benchtime 20x ./runs
func BenchmarkKeptItem(b *testing.B) {
	for _, c := range []struct {
		name string
		data string
	}{
		{"word", " streaming"},
		{"line80", "2026-12-06T15:25:47Z INFO request method=GET path=/export/users.csv status=200"},
	} {
		b.Run(c.name, func(b *testing.B) {
			const items = 10_000
			m := &runs.Manager{MaxItems: items + 1, MaxRunning: b.N + 1, MaxPerClient: b.N + 1}
			defer m.Close()
			ids := make([]string, 0, b.N)
			before := liveHeap()
			b.ResetTimer()
			for range b.N {
				info, _, err := m.Start(runs.Spec{Kind: "bench"}, func(ctx context.Context, yield func(sse.Event) error) error {
					for range items {
						if err := yield(sse.Event{Name: "token", Data: c.data}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, info.ID)
			}
			for _, id := range ids {
				waitEnded(b, m, id)
			}
			b.StopTimer()
			after := liveHeap()
			b.ReportMetric(float64(after-before)/float64(b.N*items), "B/kept-item")
			b.ReportMetric(float64(len(c.data)), "B/data")
			runtime.KeepAlive(m)
		})
	}
}

// waitEnded waits until run id has ended.
func waitEnded(b *testing.B, m *runs.Manager, id string) {
	deadline := time.Now().Add(time.Minute)
	for {
		info, err := m.Get(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		if info.State.Ended() {
			if info.State != runs.Completed || info.Items == 0 {
				b.Fatalf("run %s: %s with %s items, want completed", id, info.State, strconv.Itoa(info.Items))
			}
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("run %s still running after a minute", id)
		}
		time.Sleep(time.Millisecond)
	}
}

// liveHeap returns the bytes of live heap objects after a full GC.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
