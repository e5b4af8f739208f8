package sse_test

import (
	"bytes"
	"context"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// lastIDPatience bounds every wait of FuzzLastEventID, so that a stream
// that never opens fails the input instead of hanging the fuzzer. It is a
// deadlock guard, not a performance claim.
const lastIDPatience = 20 * time.Second

// lastIDMarker is the data of the event that FuzzLastEventID publishes once
// the stream has subscribed: the last event the client must get.
const lastIDMarker = "marker"

// markerRecorder records a response and cancels the request, as a client
// that has read enough does, once the body holds the marker event. Every
// method is safe for concurrent use.
type markerRecorder struct {
	mu     sync.Mutex
	header http.Header
	code   int
	body   bytes.Buffer
	cancel context.CancelFunc
}

func (r *markerRecorder) Header() http.Header { return r.header }

func (r *markerRecorder) WriteHeader(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.code == 0 {
		r.code = code
	}
}

func (r *markerRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.code == 0 {
		r.code = http.StatusOK
	}
	r.body.Write(p)
	if bytes.Contains(r.body.Bytes(), []byte("data: "+lastIDMarker+"\n\n")) {
		r.cancel()
	}
	return len(p), nil
}

func (r *markerRecorder) Flush() {}

// SetWriteDeadline lets the sink set its stall deadline and abort the
// response as it does on a real connection.
func (r *markerRecorder) SetWriteDeadline(time.Time) error { return nil }

func (r *markerRecorder) result() (int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.code, r.body.String()
}

// lastIDDigits is what the Hub contract calls a decimal number.
var lastIDDigits = regexp.MustCompile(`^[0-9]+$`)

// FuzzLastEventID sends any Last-Event-ID, as a header or as the
// lastEventId parameter (or both — suffix in the header, the whole id in
// the parameter — where the header wins unless empty), to an event
// stream handler (EventWriter.Subscribe) over a MemHub whose topic has published
// 12 events and keeps the newest 8. Whatever the value, the stream opens
// (200, text/event-stream, the retry field first) and then, checked
// against a model of the Hub contract:
//
//   - a decimal id of an event kept: the events after it, in order;
//   - a decimal id newer than the newest event: a reset event "unknown";
//   - a decimal id older than those kept: a reset event "too-old";
//   - anything else (empty, signs, spaces, other digits, beyond uint64):
//     treated as no id — nothing replayed, no reset;
//
// and in every case then the live event published after the stream
// subscribed, and nothing else. The topic's ids count from the time the
// hub starts, so a checked-in corpus cannot hold a valid id: with relative
// set, the id is prefix + (the newest id + offset) + suffix, which reaches
// the ids kept, the boundaries around them, and valid ids spoiled by a
// prefix or suffix.
func FuzzLastEventID(f *testing.F) {
	f.Add("", "", int16(0), true, uint8(0))      // the newest: nothing to replay
	f.Add("", "", int16(-3), true, uint8(0))     // three to replay
	f.Add("", "", int16(-7), true, uint8(1))     // the oldest kept, as a parameter
	f.Add("", "", int16(-8), true, uint8(0))     // just before the oldest kept: all 8 replayed
	f.Add("", "", int16(-9), true, uint8(0))     // older: a reset
	f.Add("", "", int16(1), true, uint8(1))      // never issued
	f.Add("+", "", int16(-2), true, uint8(0))    // a sign
	f.Add(" ", "", int16(-2), true, uint8(1))    // a space
	f.Add("", "\x00", int16(-2), true, uint8(0)) // NUL
	f.Add("", "0", int16(-2), true, uint8(0))    // ten times too big
	f.Add("", "x", int16(-2), true, uint8(2))    // both, the header wins
	f.Add("", "", int16(-2), true, uint8(2))     // an empty header: the parameter
	f.Add("", "", int16(0), false, uint8(2))     // none
	f.Add("18446744073709551616", "", int16(0), false, uint8(0))
	f.Add("0", "", int16(0), false, uint8(1))
	f.Add("٣", "", int16(0), false, uint8(0))
	f.Add("1e3", "", int16(0), false, uint8(0))
	f.Add("0x10", "", int16(0), false, uint8(1))
	f.Add(strings.Repeat("9", 4096), "", int16(0), false, uint8(1))
	f.Fuzz(func(t *testing.T, prefix, suffix string, offset int16, relative bool, via uint8) {
		hub := &sse.MemHub{Replay: 8}
		defer hub.Close()
		const topic = "t"
		var sent []sse.Event
		for i := range 12 {
			e, err := hub.Publish(context.Background(), topic, sse.Event{Data: "e" + strconv.Itoa(i)})
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, e)
		}
		head, _ := strconv.ParseUint(sent[11].ID, 10, 64)
		oldest, _ := strconv.ParseUint(sent[4].ID, 10, 64)

		id := prefix + suffix
		if relative {
			id = prefix + strconv.FormatInt(int64(head)+int64(offset), 10) + suffix
		}
		req := httptest.NewRequest(http.MethodGet, "/events", nil)
		var lastID string // what the handler should read
		switch via % 3 {
		case 0:
			req.Header.Set("Last-Event-ID", id)
			lastID = id
		case 1:
			req.URL.RawQuery = "lastEventId=" + url.QueryEscape(id)
			lastID = id
		case 2: // the header, if not empty, wins over the parameter
			req.Header.Set("Last-Event-ID", suffix)
			req.URL.RawQuery = "lastEventId=" + url.QueryEscape(id)
			lastID = suffix
			if suffix == "" {
				lastID = id
			}
		}

		// The model.
		var want []string // type/id/data of the events the client gets
		if lastIDDigits.MatchString(lastID) {
			v, _ := new(big.Int).SetString(lastID, 10)
			switch {
			case !v.IsUint64():
				// beyond uint64: malformed, no id
			case v.Uint64() > head:
				want = append(want, "reset/"+sent[11].ID+"/unknown")
			case v.Uint64()+1 < oldest:
				want = append(want, "reset/"+sent[11].ID+"/too-old")
			default:
				for _, e := range sent {
					if n, _ := strconv.ParseUint(e.ID, 10, 64); n > v.Uint64() {
						want = append(want, "message/"+e.ID+"/"+e.Data)
					}
				}
			}
		}

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rec := &markerRecorder{header: http.Header{}, cancel: cancel}
		engine := gin.New()
		writer := &sse.EventWriter{Heartbeat: -1, Config: sink.Config{Logger: quiet}}
		engine.GET("/events", func(c *gin.Context) { writer.Subscribe(c, hub, topic) })
		done := make(chan struct{})
		go func() {
			defer close(done)
			engine.ServeHTTP(rec, req.WithContext(ctx))
		}()

		// Once subscribed, the live event; the recorder hangs up when
		// it arrives.
		deadline := time.Now().Add(lastIDPatience)
		for hub.Subscribers(topic) == 0 {
			select {
			case <-done:
				code, body := rec.result()
				t.Fatalf("Last-Event-ID %q: the handler returned before subscribing: %d %q", lastID, code, body)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("Last-Event-ID %q: no subscription after %v", lastID, lastIDPatience)
			}
			time.Sleep(20 * time.Microsecond)
		}
		live, err := hub.Publish(context.Background(), topic, sse.Event{Data: lastIDMarker})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, "message/"+live.ID+"/"+lastIDMarker)
		select {
		case <-done:
		case <-time.After(lastIDPatience):
			code, body := rec.result()
			t.Fatalf("Last-Event-ID %q: the stream did not deliver the live event in %v: %d %q", lastID, lastIDPatience, code, body)
		}

		code, body := rec.result()
		if code != http.StatusOK || rec.header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("Last-Event-ID %q: %d, Content-Type %q (%q); want 200 text/event-stream",
				lastID, code, rec.header.Get("Content-Type"), body)
		}
		if !strings.HasPrefix(body, "retry: 3000\n\n") {
			t.Fatalf("Last-Event-ID %q: the stream starts %q, not with the retry field", lastID, body)
		}
		var got []string
		for _, e := range parse(body).events {
			got = append(got, e.Type+"/"+e.LastEventID+"/"+e.Data)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("Last-Event-ID %q (events %d to %d kept): got events\n%s\nwant\n%s",
				lastID, oldest, head, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
