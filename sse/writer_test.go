package sse_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// reports receives the reports of streams through the sink's OnReport.
type reports chan sink.Report

func (r reports) hook(_ *gin.Context, rep sink.Report) { r <- rep }

// next returns the next report, failing the test if none comes.
func (r reports) next(t *testing.T) sink.Report {
	t.Helper()
	select {
	case rep := <-r:
		return rep
	case <-time.After(patience):
		t.Fatalf("no stream reported within %v", patience)
		return sink.Report{}
	}
}

// quiet discards the logs of streams that end early, as many here do.
var quiet = slog.New(slog.DiscardHandler)

// hubServer serves GET /events?topic= from hub through w, over p. It
// silences w's logger unless one is set.
func hubServer(t *testing.T, p protocol, hub sse.Hub, w *sse.EventWriter, bufSize int) (*http.Client, string) {
	t.Helper()
	if w.Logger == nil {
		w.Logger = quiet
	}
	engine := gin.New()
	engine.GET("/events", func(c *gin.Context) {
		w.Subscribe(c, hub, c.DefaultQuery("topic", "news"))
	})
	client, base := serve(t, p, engine, bufSize)
	return client, base + "/events"
}

// published publishes events with data prefix-1, prefix-2, … and returns
// them as a client parses them.
func published(t *testing.T, hub sse.Hub, topic, prefix string, n int) []parsed {
	t.Helper()
	out := make([]parsed, n)
	for i := range out {
		e, err := hub.Publish(context.Background(), topic, sse.Event{Data: fmt.Sprintf("%s-%d", prefix, i+1)})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = parsed{Type: "message", Data: e.Data, LastEventID: e.ID}
	}
	return out
}

// started waits until the topic has n subscribers, so that events
// published next reach them live.
func started(t *testing.T, hub *sse.MemHub, topic string, n int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for hub.Subscribers(topic) != n {
		if time.Now().After(deadline) {
			t.Fatalf("topic %q has %d subscribers, want %d", topic, hub.Subscribers(topic), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWriterSubscribe: a stream opens at once with the event-stream
// headers and a retry field, before any event exists, then delivers the
// topic's events with their ids.
func TestWriterSubscribe(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			hub := &sse.MemHub{}
			defer hub.Close()
			client, url := hubServer(t, p, hub, &sse.EventWriter{Retry: 1500 * time.Millisecond}, 0)
			ec := connect(t, client, url, "")
			for header, want := range map[string]string{
				"Content-Type":      "text/event-stream",
				"Cache-Control":     "no-cache",
				"X-Accel-Buffering": "no",
			} {
				if got := ec.resp.Header.Get(header); got != want {
					t.Errorf("%s: %q, want %q", header, got, want)
				}
			}
			ec.opened(t)
			if ec.retry != 1500 {
				t.Errorf("retry %d ms, want 1500", ec.retry)
			}
			started(t, hub, "news", 1)
			want := published(t, hub, "news", "event", 3)
			if got := ec.events(t, 3); !slices.Equal(got, want) {
				t.Fatalf("received %+v, want %+v", got, want)
			}
		})
	}
}

// TestWriterResume: a client that reconnects with the id of the last event
// it received, in the Last-Event-ID header or the lastEventId query
// parameter, receives the events it missed, then live ones, with nothing
// lost and nothing twice.
func TestWriterResume(t *testing.T) {
	tests := []struct {
		name  string
		query bool
	}{
		{"Last-Event-ID header", false},
		{"lastEventId query parameter", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := &sse.MemHub{}
			defer hub.Close()
			client, base := hubServer(t, protocols[0], hub, &sse.EventWriter{}, 0)
			first := connect(t, client, base, "")
			first.opened(t)
			started(t, hub, "news", 1)
			events := published(t, hub, "news", "before", 5)
			got := first.events(t, 2)
			first.close() // the connection drops
			events = append(events, published(t, hub, "news", "while-away", 3)...)

			u, lastID := base, first.lastID
			if tt.query {
				u, lastID = base+"?lastEventId="+url.QueryEscape(first.lastID), ""
			}
			again := connect(t, client, u, lastID)
			again.opened(t)
			got = append(got, again.events(t, 6)...)
			events = append(events, published(t, hub, "news", "after", 2)...)
			got = append(got, again.events(t, 2)...)
			if !slices.Equal(got, events) {
				t.Fatalf("received\n %+v\nwant\n %+v", got, events)
			}
		})
	}
}

// TestWriterLastEventIDs: what a stream starts with for each kind of
// Last-Event-ID: nothing for none or a malformed one (not an error page), a
// reset for one the hub no longer keeps or never issued.
func TestWriterLastEventIDs(t *testing.T) {
	hub := &sse.MemHub{Replay: 4}
	defer hub.Close()
	client, url := hubServer(t, protocols[0], hub, &sse.EventWriter{}, 0)
	old := published(t, hub, "news", "old", 10)
	newest := old[9].LastEventID
	tests := []struct {
		name      string
		id        string
		wantReset string // the reset's data; empty if none
	}{
		{"none", "", ""},
		{"malformed", "not-a-number", ""},
		{"negative", "-5", ""},
		{"too long for a number", strings.Repeat("9", 40), ""},
		{"too old", old[1].LastEventID, "too-old"},
		{"never issued", strconv.FormatUint(1<<64-1, 10), "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ec := connect(t, client, url, tt.id)
			ec.opened(t)
			if tt.wantReset != "" {
				e := ec.nextEvent(t)
				if e.Type != sse.EventReset || e.Data != tt.wantReset || e.LastEventID != newest {
					t.Fatalf("first event %+v, want a %q event saying %q with the newest id %s",
						e, sse.EventReset, tt.wantReset, newest)
				}
			}
			started(t, hub, "news", 1)
			want := published(t, hub, "news", "new", 1)
			newest = want[0].LastEventID
			if got := ec.events(t, 1); !slices.Equal(got, want) {
				t.Fatalf("received %+v, want only the new event %+v", got, want)
			}
			ec.close()
			started(t, hub, "news", 0)
		})
	}
}

// TestWriterShutdown: closing the hub ends every stream cleanly, with a
// shutdown event whose retry field asks for the stream's retry time plus
// at most half of it, after every event published before.
func TestWriterShutdown(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			hub := &sse.MemHub{}
			reps := make(reports, 4)
			w := &sse.EventWriter{Retry: 2 * time.Second, Config: sink.Config{OnReport: reps.hook}}
			client, url := hubServer(t, p, hub, w, 0)
			clients := []*eventClient{connect(t, client, url, ""), connect(t, client, url, "")}
			for _, ec := range clients {
				ec.opened(t)
			}
			started(t, hub, "news", 2)
			want := published(t, hub, "news", "event", 3)
			hub.Close()
			for i, ec := range clients {
				if got := ec.events(t, 3); !slices.Equal(got, want) {
					t.Errorf("client %d received %+v, want %+v", i, got, want)
				}
				if e := ec.nextEvent(t); e.Type != sse.EventShutdown {
					t.Errorf("client %d: last event %+v, want a %q event", i, e, sse.EventShutdown)
				}
				if ec.retry < 2000 || ec.retry > 3000 {
					t.Errorf("client %d: retry %d ms after shutdown, want 2000 to 3000", i, ec.retry)
				}
				if err := ec.end(t); err != io.EOF {
					t.Errorf("client %d: stream ended with %v, want a clean end", i, err)
				}
				if r := reps.next(t); r.Outcome != sink.Completed || r.Err != nil {
					t.Errorf("report %+v, want completed", r)
				}
			}
			// A client that comes during the shutdown is told to come back.
			late := connect(t, client, url, "")
			late.opened(t)
			if e := late.nextEvent(t); e.Type != sse.EventShutdown {
				t.Errorf("during shutdown: event %+v, want a %q event", e, sse.EventShutdown)
			}
			if err := late.end(t); err != io.EOF {
				t.Errorf("during shutdown: stream ended with %v, want a clean end", err)
			}
			reps.next(t)
		})
	}
}

// TestWriterProducerFails: a producer that fails or panics after the
// stream started ends it with an error event the page can show and a clean
// end; the report says it failed, and the log has the detail. The event
// says what a client error was, and nothing of an internal one but its
// status and the request's id.
func TestWriterProducerFails(t *testing.T) {
	boom := errors.New("the log file was removed")
	tests := []struct {
		name      string
		requestID string
		fail      func() error
		wantData  string // the error event's data
		wantErr   string // the report's error
	}{
		{"error", "", func() error { return boom }, "Internal Server Error", boom.Error()},
		{"error with a request id", "req-42", func() error { return boom }, "Internal Server Error (request req-42)", boom.Error()},
		{"panic", "", func() error { panic(boom) }, "Internal Server Error", "generator: producer panicked: " + boom.Error()},
		{"client error", "", func() error { return sink.WithStatus(http.StatusNotFound, boom) }, "Not Found: " + boom.Error(), boom.Error()},
		{"client error with line breaks", "", func() error { return sink.WithStatus(http.StatusBadRequest, errors.New("line one\nevent: forged")) },
			"Bad Request: line one event: forged", "line one\nevent: forged"},
	}
	for _, p := range protocols {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				reps := make(reports, 1)
				var log bytes.Buffer // written before the report is sent
				w := &sse.EventWriter{Config: sink.Config{OnReport: reps.hook, Logger: slog.New(slog.NewTextHandler(&log, nil))}}
				engine := gin.New()
				engine.Use(gin.Recovery())
				engine.GET("/logs", func(c *gin.Context) {
					w.Stream(c, (func(_ context.Context, yield func(sse.Event) error) error {
						if err := yield(sse.Event{Name: "log", Data: "first line"}); err != nil {
							return err
						}
						return tt.fail()
					}))
				})
				client, base := serve(t, p, engine, 0)
				ec := connectWith(t, client, base+"/logs", http.Header{"X-Request-Id": {tt.requestID}})
				ec.opened(t)
				ec.retry = -1 // the error event must bring one of its own
				if e := ec.nextEvent(t); e != (parsed{Type: "log", Data: "first line"}) {
					t.Fatalf("first event %+v", e)
				}
				if e := ec.nextEvent(t); e != (parsed{Type: sse.EventError, Data: tt.wantData}) {
					t.Fatalf("event %+v, want an %q event with data %q", e, sse.EventError, tt.wantData)
				}
				if want := int(sse.DefaultRetry.Milliseconds()); ec.retry < want || ec.retry > want*3/2 {
					t.Errorf("retry %d ms with the error event, want %d to %d", ec.retry, want, want*3/2)
				}
				if err := ec.end(t); err != io.EOF {
					t.Errorf("stream ended with %v, want a clean end", err)
				}
				r := reps.next(t)
				if r.Outcome != sink.Failed || r.Err == nil || r.Err.Error() != tt.wantErr {
					t.Errorf("report %v %v, want failed with %q", r.Outcome, r.Err, tt.wantErr)
				}
				want := "level=ERROR msg=\"ginstream: stream ended early\" method=GET path=/logs outcome=failed status=200 items=2 "
				if !strings.Contains(log.String(), want) || !strings.Contains(log.String(), fmt.Sprintf("error=%q", tt.wantErr)) {
					t.Errorf("log %q, want a line with %q and the error %q", log.String(), want, tt.wantErr)
				}
			})
		}
	}
}

// TestWriterHeartbeatOverHTTP: an idle stream sends heartbeat comments.
func TestWriterHeartbeatOverHTTP(t *testing.T) {
	hub := &sse.MemHub{}
	defer hub.Close()
	client, url := hubServer(t, protocols[0], hub, &sse.EventWriter{Heartbeat: 10 * time.Millisecond}, 0)
	ec := connect(t, client, url, "")
	ec.opened(t)
	for range 3 {
		it, err := ec.next()
		if err != nil || it.Comment != "heartbeat" {
			t.Fatalf("idle stream sent %+v, %v; want a heartbeat comment", it, err)
		}
	}
}

// TestWriterSlowClient: a client that stops reading is disconnected or
// trimmed, per the hub's policy, while the others receive every event; a
// disconnected client resumes from its last event with nothing lost.
func TestWriterSlowClient(t *testing.T) {
	const (
		buffer = 8
		events = 100
	)
	payload := strings.Repeat("x", 1<<10)
	for _, policy := range []sse.Policy{sse.Disconnect, sse.DropOldest} {
		name := map[sse.Policy]string{sse.Disconnect: "Disconnect", sse.DropOldest: "DropOldest"}[policy]
		t.Run(name, func(t *testing.T) {
			hub := &sse.MemHub{Replay: 2 * events, Buffer: buffer, Policy: policy}
			defer hub.Close()
			reps := make(reports, 4)
			w := &sse.EventWriter{Heartbeat: -1, Config: sink.Config{OnReport: reps.hook}}
			client, url := hubServer(t, protocols[0], hub, w, 4<<10)
			slow := connect(t, client, url, "")
			slow.opened(t)
			fast := []*eventClient{connect(t, client, url, ""), connect(t, client, url, "")}
			for _, ec := range fast {
				ec.opened(t)
			}
			started(t, hub, "news", 3)
			var want []parsed
			for i := range events {
				e, err := hub.Publish(context.Background(), "news", sse.Event{Data: fmt.Sprint(i+1, payload)})
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, parsed{Type: "message", Data: e.Data, LastEventID: e.ID})
				for j, ec := range fast { // they keep up
					if got := ec.nextEvent(t); got != want[i] {
						t.Fatalf("fast client %d: event %d is %.20q, want %.20q", j, i+1, got.Data, want[i].Data)
					}
				}
			}
			// The slow client now reads what reached it.
			var got []parsed
			switch policy {
			case sse.Disconnect:
				for {
					it, err := slow.next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatalf("slow client: stream ended with %v, want a clean end", err)
					}
					got = append(got, it.Event)
				}
				if len(got) >= events || !slices.Equal(got, want[:len(got)]) {
					t.Fatalf("slow client received %d events, want a strict prefix of the %d", len(got), events)
				}
				r := reps.next(t)
				if r.Outcome != sink.Stalled || !errors.Is(r.Err, sse.ErrSlowSubscriber) {
					t.Errorf("report %v %v, want stalled with ErrSlowSubscriber", r.Outcome, r.Err)
				}
				// It reconnects and resumes: nothing lost, nothing twice.
				again := connect(t, client, url, slow.lastID)
				again.opened(t)
				got = append(got, again.events(t, events-len(got))...)
				if !slices.Equal(got, want) {
					t.Fatalf("after resuming, the slow client has %d events, not the %d in order", len(got), events)
				}
			case sse.DropOldest:
				// Each missed event stands for events skipped; it may come
				// more than once, if the client stays slow.
				missed := 0
				for next := 0; next < events; {
					e := slow.nextEvent(t)
					if e.Type != sse.EventMissed {
						if e != want[next] {
							t.Fatalf("slow client: event %.20q, want %.20q (after missing %d)", e.Data, want[next].Data, missed)
						}
						next++
						continue
					}
					n, err := strconv.Atoi(e.Data)
					if err != nil || n <= 0 || next+n > events {
						t.Fatalf("%q event with data %q after %d events", sse.EventMissed, e.Data, next)
					}
					next += n
					missed += n
				}
				if missed == 0 {
					t.Fatalf("the slow client missed no event")
				}
				// It goes on.
				last := published(t, hub, "news", "last", 1)
				if e := slow.nextEvent(t); e != last[0] {
					t.Fatalf("slow client: event %.20q, want the last one", e.Data)
				}
			}
			for _, ec := range fast {
				ec.close()
			}
		})
	}
}

// TestWriterCycles: thousands of clients that subscribe and leave, many of
// them abruptly in the middle of the stream, while events are published,
// leave no subscriber and no goroutine behind.
func TestWriterCycles(t *testing.T) {
	const clients = 2000
	t.Run("cycles", func(t *testing.T) {
		// A buffer (bounded by the replay) larger than a client falls
		// behind in this test, so that no subscriber is disconnected for
		// being slow (each event is a write and a flush, slow under the
		// race detector): this test is about subscriptions ending, not
		// about the slow-subscriber policy (see TestWriterSlowClient).
		hub := &sse.MemHub{Replay: 1 << 14, Buffer: 1 << 14}
		defer hub.Close()
		client, url := hubServer(t, protocols[0], hub, &sse.EventWriter{}, 0)
		var publisher, clientsWG sync.WaitGroup
		stop := make(chan struct{})
		publisher.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Microsecond):
					hub.Publish(context.Background(), "news", sse.Event{Data: "tick"})
				}
			}
		})
		work := make(chan int)
		for range 8 {
			clientsWG.Go(func() {
				for i := range work {
					ec, err := tryConnect(client, url, strconv.Itoa(i))
					if err != nil {
						t.Errorf("client %d: %v", i, err)
						continue
					}
					for range i % 5 { // read a little first, or not
						if _, err := ec.next(); err != nil {
							t.Errorf("client %d: %v", i, err)
							break
						}
					}
					ec.close()
				}
			})
		}
		for i := range clients {
			work <- i
		}
		close(work)
		clientsWG.Wait()
		close(stop)
		publisher.Wait()
		started(t, hub, "news", 0)
	})
	// The server, its connections and the streams have ended.
	goleak.VerifyNone(t)
}
