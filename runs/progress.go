package runs

import (
	"encoding/json"

	"github.com/ginstream/ginstream/sse"
)

// ProgressEvent returns the event with which a run's producer reports its
// progress: done of total (total 0 when not known). The Manager keeps the
// latest in the run's Info and sends it first to every client that
// attaches, without an id, before the run's events.
func ProgressEvent(done, total int64) sse.Event {
	data, _ := json.Marshal(Progress{Done: done, Total: total}) // always encodes
	return sse.Event{Name: EventProgress, Data: string(data)}
}

// parseProgress reads the data of a progress event.
func parseProgress(data string) (Progress, bool) {
	var p Progress
	err := json.Unmarshal([]byte(data), &p)
	return p, err == nil
}

// progressFrame is the progress event sent first to a client that
// attaches: without an id, so that it does not move the client's place in
// the run's events.
func progressFrame(p Progress) sse.Frame {
	f, _ := sse.NewFrame(ProgressEvent(p.Done, p.Total)) // name and id are fixed and framable
	return f
}
