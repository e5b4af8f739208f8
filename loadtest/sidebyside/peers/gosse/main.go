// Command gosse is the side-by-side program's go-sse server
// (github.com/tmaxmax/go-sse), written as its README's server-side "Hello
// world" shows: a zero sse.Server (its default provider, Joe, with no
// replayer) as the handler, and s.Publish of an sse.Message with an ID and
// its data. The README serves the Server as the whole handler; here it is
// the /events route beside the control endpoints.
package main

import (
	"strconv"

	"github.com/tmaxmax/go-sse"

	"github.com/ginstream/ginstream/loadtest/internal/broadcast"
)

func main() {
	s := &sse.Server{}
	broadcast.Main("/events", s, func(id uint64, data []byte) error {
		m := &sse.Message{ID: sse.ID(strconv.FormatUint(id, 10))}
		m.AppendData(string(data))
		return s.Publish(m)
	})
}
