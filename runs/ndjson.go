package runs

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// line is an event of a run as a line of an NDJSON stream.
type line struct {
	ID    string `json:"id,omitempty"`
	Event string `json:"event,omitempty"`
	Data  string `json:"data"`
}

// streamNDJSON streams the frames of p as NDJSON lines, each written as it
// comes. The headers go at once, as an event stream's do, so that a client
// learns that it is attached before the run's next event.
func (m *Manager) streamNDJSON(c *gin.Context, p generator.Func[sse.Frame]) sink.Report {
	cfg := m.Events.Config
	if cfg.HeaderTimeout <= 0 {
		cfg.HeaderTimeout = time.Millisecond
	}
	w := sink.Writer[line]{Encoder: sink.NDJSON[line]{}, Config: cfg}
	return w.StreamInline(c, func(ctx context.Context, yield func(line) error) error {
		return p(ctx, func(f sse.Frame) error {
			e := f.Event()
			return yield(line{ID: e.ID, Event: e.Name, Data: e.Data})
		})
	})
}
