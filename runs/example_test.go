package runs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// A run is started, runs to its end without anyone watching, and a client
// attaches to it afterwards, here as NDJSON: it gets the run's latest
// progress (without an id), every event from the first, and the end event
// with the run's final state.
func Example() {
	m := &runs.Manager{}
	defer m.Close()
	r := gin.New()
	r.GET("/runs/:id", func(c *gin.Context) { m.Attach(c, c.Param("id")) })
	srv := httptest.NewServer(r)
	defer srv.Close()

	info, _, err := m.Start(runs.Spec{Kind: "count"}, func(ctx context.Context, yield func(sse.Event) error) error {
		for i := 1; i <= 3; i++ {
			if err := yield(sse.Event{Name: "line", Data: fmt.Sprint("line ", i)}); err != nil {
				return err
			}
			if err := yield(runs.ProgressEvent(int64(i), 3)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		panic(err)
	}

	for info.State == runs.Running { // a late client
		time.Sleep(time.Millisecond)
		info, _ = m.Get(context.Background(), info.ID)
	}
	resp, err := http.Get(srv.URL + "/runs/" + info.ID) // NDJSON; resume with ?from=ID
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	for lines := bufio.NewScanner(resp.Body); lines.Scan(); {
		var e struct{ Event, Data string }
		json.Unmarshal(lines.Bytes(), &e)
		if e.Event == "end" {
			var end runs.Info
			json.Unmarshal([]byte(e.Data), &end)
			fmt.Println("end:", end.State, end.Items, "items")
			continue
		}
		fmt.Printf("%s: %s\n", e.Event, e.Data)
	}
	// Output:
	// progress: {"done":3,"total":3}
	// line: line 1
	// progress: {"done":1,"total":3}
	// line: line 2
	// progress: {"done":2,"total":3}
	// line: line 3
	// progress: {"done":3,"total":3}
	// end: completed 3 items
}
