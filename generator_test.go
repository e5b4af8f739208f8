package ginstream_test

// End-to-end specification of the pipeline producers → generator → sink →
// gin → client, through a real gin server over HTTP/1.1 and HTTP/2.
// Helpers live in e2e_helpers_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// numberLines is the body of the numbers 1 to n as lines.
func numberLines(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	return b.String()
}

// checkServing checks that the server still streams a complete response.
func checkServing(t *testing.T, client *http.Client, p protocol, url string) {
	t.Helper()
	resp := get(t, t.Context(), client, p, url)
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != numberLines(3) {
		t.Fatalf("next request: body %q, error %v; want %q", body, err, numberLines(3))
	}
}

// serveNumbers adds the route /ok that streams the numbers 1 to 3, for
// checkServing.
func serveNumbers(engine *gin.Engine) {
	engine.GET("/ok", func(c *gin.Context) {
		sink.Stream(c, sink.Lines[int]{}, generator.Count(3, 0))
	})
}

// TestCompleteStream: a stream that ends normally arrives byte for byte,
// with the headers streaming needs, and reports Completed with its item and
// byte counts.
func TestCompleteStream(t *testing.T) {
	text := "first line\nsecond line\n\nünïcödé line\nlast line, without a newline"

	header := []string{"id", "name", "note"}
	records := [][]string{
		{"1", "plain", "text"},
		{"2", "comma, inside", `"quoted"`},
		{"3", "multi\nline", ""},
		{"4", "ünïcödé", "-42"},
	}
	var csvBody bytes.Buffer
	cw := csv.NewWriter(&csvBody)
	cw.Write(header)
	cw.WriteAll(records)

	type event struct {
		ID   int    `json:"id"`
		Text string `json:"text"`
	}
	events := []event{{1, "hello"}, {2, "<b>tags</b> & ampersands"}, {3, "line\nbreak"}, {4, `"quotes"`}}
	var jsonBody bytes.Buffer
	je := json.NewEncoder(&jsonBody)
	je.SetEscapeHTML(false)
	for _, e := range events {
		je.Encode(e)
	}

	var chunks [][]byte
	for i := range 1000 {
		chunks = append(chunks, bytes.Repeat([]byte{byte(i)}, 1+i%100))
	}

	cases := []struct {
		name      string
		stream    func(c *gin.Context, r reports)
		wantType  string
		wantBody  string
		wantItems int64
	}{{
		name: "100,000 numbers as lines",
		stream: func(c *gin.Context, r reports) {
			newWriter(sink.Lines[int]{}, r).Stream(c, generator.Count(100_000, 0))
		},
		wantType:  "text/plain; charset=utf-8",
		wantBody:  numberLines(100_000),
		wantItems: 100_000,
	}, {
		name: "lines of a reader",
		stream: func(c *gin.Context, r reports) {
			newWriter(sink.Lines[string]{}, r).Stream(c, generator.ReadLines(strings.NewReader(text), 0))
		},
		wantType:  "text/plain; charset=utf-8",
		wantBody:  text + "\n",
		wantItems: 5,
	}, {
		name: "CSV with header",
		stream: func(c *gin.Context, r reports) {
			newWriter(sink.CSV{Header: header}, r).Stream(c, generator.Slice(records))
		},
		wantType:  "text/csv; charset=utf-8",
		wantBody:  csvBody.String(),
		wantItems: int64(len(records)),
	}, {
		name: "NDJSON",
		stream: func(c *gin.Context, r reports) {
			newWriter(sink.NDJSON[event]{}, r).Stream(c, generator.Slice(events))
		},
		wantType:  "application/x-ndjson",
		wantBody:  jsonBody.String(),
		wantItems: int64(len(events)),
	}, {
		name: "raw bytes",
		stream: func(c *gin.Context, r reports) {
			newWriter(sink.Bytes{}, r).Stream(c, generator.Slice(chunks))
		},
		wantType:  "application/octet-stream",
		wantBody:  string(bytes.Join(chunks, nil)),
		wantItems: int64(len(chunks)),
	}, {
		name: "no items",
		stream: func(c *gin.Context, r reports) {
			newWriter(sink.Lines[int]{}, r).Stream(c, generator.Count(0, 0))
		},
		wantType: "text/plain; charset=utf-8",
	}}

	forEachProtocol(t, func(t *testing.T, p protocol) {
		rep := newReports()
		engine := newEngine(false)
		for i, tc := range cases {
			engine.GET("/"+strconv.Itoa(i), func(c *gin.Context) { tc.stream(c, rep) })
		}
		client, url := serve(t, p, engine)

		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := get(t, t.Context(), client, p, url+"/"+strconv.Itoa(i))
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("reading the body: %v", err)
				}
				if string(body) != tc.wantBody {
					t.Errorf("body differs: got %d bytes, want %d\n%s", len(body), len(tc.wantBody), firstDifference(string(body), tc.wantBody))
				}
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d, want 200", resp.StatusCode)
				}
				wantHeaders := map[string]string{
					"Content-Type":           tc.wantType,
					"Cache-Control":          "no-cache",
					"X-Accel-Buffering":      "no",
					"X-Content-Type-Options": "nosniff",
					"Connection":             "",
				}
				for k, want := range wantHeaders {
					if got := resp.Header.Get(k); got != want {
						t.Errorf("header %s: %q, want %q", k, got, want)
					}
				}
				if tc.wantBody != "" && resp.ContentLength != -1 {
					t.Errorf("ContentLength %d: a stream has no length known in advance", resp.ContentLength)
				}

				r := rep.next(t)
				if r.Outcome != sink.Completed || r.Err != nil {
					t.Errorf("report: outcome %v, error %v; want completed, nil", r.Outcome, r.Err)
				}
				if r.Items != tc.wantItems || r.Bytes != int64(len(tc.wantBody)) || r.Status != http.StatusOK {
					t.Errorf("report: %d items, %d bytes, status %d; want %d, %d, 200",
						r.Items, r.Bytes, r.Status, tc.wantItems, len(tc.wantBody))
				}
			})
		}
	})
}

// firstDifference describes where got first differs from want.
func firstDifference(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	excerpt := func(s string) string { return s[i:min(len(s), i+40)] }
	return fmt.Sprintf("at byte %d: got %q, want %q", i, excerpt(got), excerpt(want))
}

// TestIncrementalDelivery: each item reaches the client as soon as it is
// produced. The producer makes the next item only once the client has
// confirmed it received the previous one, so the client can receive item i
// only if it was sent while item i+1 did not exist yet. A sink that waited
// for more items before flushing leaves the client waiting forever (here:
// until patience runs out). The same holds for the last item of a burst
// too small to fill a batch, after which the producer waits: nothing tells
// the sink that the producer is about to wait.
func TestIncrementalDelivery(t *testing.T) {
	cases := []struct {
		name          string
		bursts, burst int  // the producer waits after every burst items
		flushEach     bool // each burst is flushed on its own
	}{
		{"one item at a time", 20, 1, true},
		{"bursts", 5, 300, false},
	}
	forEachProtocol(t, func(t *testing.T, p protocol) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				n := tc.bursts * tc.burst
				received := make(chan int) // the client confirms the last item of each burst
				rep := newReports()
				w := newWriter(sink.Lines[int]{}, rep)
				engine := newEngine(false)
				engine.GET("/paced", func(c *gin.Context) {
					w.Stream(c, func(ctx context.Context, yield func(int) error) error {
						for i := 1; i <= n; i++ {
							if err := yield(i); err != nil {
								return err
							}
							if i%tc.burst != 0 {
								continue
							}
							select {
							case got := <-received:
								if got != i {
									return fmt.Errorf("client confirmed %d, want %d", got, i)
								}
							case <-ctx.Done():
								return context.Cause(ctx)
							}
						}
						return nil
					})
				})
				client, url := serve(t, p, engine)

				resp := get(t, t.Context(), client, p, url+"/paced")
				body := bufio.NewReader(resp.Body)
				for i := 1; i <= n; i++ {
					line, err := body.ReadString('\n')
					if err != nil {
						t.Fatalf("item %d did not arrive before the next was produced: %v", i, err)
					}
					if want := strconv.Itoa(i) + "\n"; line != want {
						t.Fatalf("item %d: got %q, want %q", i, line, want)
					}
					if i%tc.burst == 0 {
						received <- i
					}
				}
				if rest, err := io.ReadAll(body); err != nil || len(rest) > 0 {
					t.Fatalf("after the last item: %q, %v; want a clean end", rest, err)
				}
				r := rep.next(t)
				if r.Outcome != sink.Completed || r.Items != int64(n) {
					t.Errorf("report: outcome %v, %d items; want completed, %d items", r.Outcome, r.Items, n)
				}
				if tc.flushEach && r.Flushes < tc.bursts {
					t.Errorf("report: %d flushes; want one for each of the %d items at least", r.Flushes, tc.bursts)
				}
			})
		}
	})
}

// Sizes for the backpressure, stall and disconnect tests: small buffers
// everywhere make a client that stops reading block the producer early.
const (
	itemSize      = 1 << 10  // bytes per item
	smallCapacity = 16       // Writer.Capacity
	smallBatch    = 8 << 10  // Writer.BatchBytes
	smallBuffer   = 64 << 10 // socket buffers and HTTP/2 stream window (serveBuffered)
)

// maxItemsAhead bounds how many items a producer can yield to a client that
// reads nothing, over p, with the sizes above. Items can be in these places:
//
//   - the generator's buffer: at most Capacity items;
//   - the sink's current batch: at most Capacity items more, taken from the
//     buffer in one Next;
//   - the sink's encoded, unwritten bytes: under BatchBytes plus one item,
//     from the previous batch;
//   - written but unread bytes, at most bytesInFlight, which is the sum of
//     the server's socket send buffer and the client's receive buffer
//     (SO_SNDBUF and SO_RCVBUF, each at most twice the size set, since Linux
//     doubles it for its bookkeeping), over HTTP/2 the client's stream
//     window, which its transport fills without being read, and 128 KiB of
//     slack: net/http's and crypto/tls's buffers on both ends (bufio writers
//     and readers, TLS records, HTTP/2 frames; well under 64 KiB) and the
//     one segment (at most 64 KiB on loopback) by which the kernel may
//     overshoot a send buffer.
//
// An item in the producer's hand, blocked in yield, has not been yielded.
// Framing (chunk headers, TLS and HTTP/2 overhead) only lowers the count.
func maxItemsAhead(p protocol) int64 {
	inFlight := 2*smallBuffer + 2*smallBuffer + 128<<10
	if p.http2 {
		inFlight += smallBuffer
	}
	return 2*smallCapacity + (smallBatch+itemSize)/itemSize + int64(inFlight)/itemSize
}

// TestBackpressure: a client that stops reading stops the producer of an
// endless stream within the buffer's capacity plus what the sockets hold,
// so memory does not grow with the stream's length. When that client
// disconnects, the producer is cancelled, the stream ends as ClientGone and
// nothing is left running.
func TestBackpressure(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		checkNoGoroutineLeft(t)
		pr := newProbe()
		rep := newReports()
		w := newWriter(sink.Bytes{}, rep)
		w.Capacity, w.BatchBytes = smallCapacity, smallBatch
		engine := newEngine(false)
		engine.GET("/endless", func(c *gin.Context) {
			w.Stream(c, pr.endless(bytes.Repeat([]byte("x"), itemSize)))
		})
		client, url := serveBuffered(t, p, engine, smallBuffer)

		ctx, disconnect := context.WithCancel(t.Context())
		resp := get(t, ctx, client, p, url+"/endless") // read the headers, then nothing
		most := maxItemsAhead(p)
		n := pr.waitBlocked(t, smallCapacity, most)
		t.Logf("the producer stopped after %d items (bound %d)", n, most)

		disconnect()
		resp.Body.Close()
		r := rep.next(t)
		if r.Outcome != sink.ClientGone || !errors.Is(r.Err, sink.ErrClientGone) {
			t.Errorf("report: outcome %v, error %v; want client_gone, %v", r.Outcome, r.Err, sink.ErrClientGone)
		}
		pr.checkCancelled(t, 1)
	})
}

// TestDisconnect: whenever the client leaves, the producers are cancelled
// (their context is done and yield fails), the stream reports ClientGone,
// and no goroutine is left.
func TestDisconnect(t *testing.T) {
	item := bytes.Repeat([]byte("x"), itemSize)
	cases := []struct {
		name     string
		producer func(pr *probe) generator.Func[[]byte]
		// until waits in the client until it is time to disconnect and
		// returns the response if its headers came.
		until func(t *testing.T, pr *probe, responses <-chan result) *http.Response
	}{{
		name:     "before the first item",
		producer: func(pr *probe) generator.Func[[]byte] { return pr.waitsAfter() },
		until: func(t *testing.T, pr *probe, _ <-chan result) *http.Response {
			pr.waitStarted(t)
			return nil
		},
	}, {
		name:     "mid-stream, while the producer is busy",
		producer: func(pr *probe) generator.Func[[]byte] { return pr.waitsAfter(item) },
		until: func(t *testing.T, pr *probe, responses <-chan result) *http.Response {
			resp := (<-responses).check(t)
			if _, err := io.ReadFull(resp.Body, make([]byte, len(item))); err != nil {
				t.Fatalf("reading the first item: %v", err)
			}
			return resp
		},
	}, {
		name:     "while the producer is blocked on a full buffer",
		producer: func(pr *probe) generator.Func[[]byte] { return pr.endless(item) },
		until: func(t *testing.T, pr *probe, responses <-chan result) *http.Response {
			resp := (<-responses).check(t)
			pr.waitBlocked(t, smallCapacity, math.MaxInt64)
			return resp
		},
	}}

	forEachProtocol(t, func(t *testing.T, p protocol) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				checkNoGoroutineLeft(t)
				pr := newProbe()
				rep := newReports()
				w := newWriter(sink.Bytes{}, rep)
				w.Capacity, w.BatchBytes = smallCapacity, smallBatch
				engine := newEngine(false)
				engine.GET("/stream", func(c *gin.Context) { w.Stream(c, tc.producer(pr)) })
				client, url := serveBuffered(t, p, engine, smallBuffer)

				ctx, disconnect := context.WithCancel(t.Context())
				responses := getAsync(ctx, client, url+"/stream")
				resp := tc.until(t, pr, responses)
				disconnect()
				if resp == nil {
					resp = (<-responses).resp
				}
				if resp != nil {
					resp.Body.Close()
				}

				r := rep.next(t)
				if r.Outcome != sink.ClientGone || !errors.Is(r.Err, sink.ErrClientGone) {
					t.Errorf("report: outcome %v, error %v; want client_gone, %v", r.Outcome, r.Err, sink.ErrClientGone)
				}
				pr.checkCancelled(t, 1)
			})
		}
	})
}

// result is the outcome of a request sent in the background.
type result struct {
	resp *http.Response
	err  error
}

// check returns the response, failing the test if the request failed.
func (r result) check(t *testing.T) *http.Response {
	t.Helper()
	if r.err != nil {
		t.Fatalf("GET: %v", r.err)
	}
	return r.resp
}

// getAsync sends a GET request for url in the background.
func getAsync(ctx context.Context, client *http.Client, url string) <-chan result {
	results := make(chan result, 1)
	go func() {
		resp, err := do(ctx, client, url)
		results <- result{resp, err}
	}()
	return results
}

// failure is a way for a producer to fail.
type failure struct {
	name       string
	err        error // what the producer returns, or panics with
	panics     bool
	wantStatus int    // the status of a stream failing before its first byte
	wantBody   string // what its error body must say
}

// fail fails as f says.
func (f failure) fail() error {
	if f.panics {
		panic(f.err)
	}
	return f.err
}

var failures = []failure{
	{"not found", fmt.Errorf("report 42: %w", sink.ErrNotFound), false, http.StatusNotFound, "404 Not Found: report 42: not found\n"},
	{"bad request", fmt.Errorf("limit must be positive: %w", sink.ErrBadRequest), false, http.StatusBadRequest, "400 Bad Request: limit must be positive: bad request\n"},
	// A server error's text (a host, a query) is for the log, not the client.
	{"other error", errors.New("database unavailable at 10.0.0.7"), false, http.StatusInternalServerError, "500 Internal Server Error\n"},
	{"panic", errors.New("kaboom"), true, http.StatusInternalServerError, "500 Internal Server Error\n"},
}

// TestFailureBeforeFirstByte: a producer that fails (or panics) before
// anything was sent gets the client an error status chosen by StatusOf and
// a one-line body — naming the error for a client error, only the status
// for a server error — without the Content-Disposition the handler set for
// the file it meant to send. The server goes on serving.
func TestFailureBeforeFirstByte(t *testing.T) {
	forEachSetup(t, func(t *testing.T, p protocol, recovery bool) {
		rep := newReports()
		w := newWriter(sink.CSV{Header: []string{"id", "name"}}, rep)
		engine := newEngine(recovery)
		serveNumbers(engine)
		for i, f := range failures {
			engine.GET("/fail/"+strconv.Itoa(i), func(c *gin.Context) {
				c.Header("Content-Disposition", `attachment; filename="report.csv"`)
				w.Stream(c, func(context.Context, func([]string) error) error { return f.fail() })
			})
		}
		client, url := serve(t, p, engine)

		for i, f := range failures {
			t.Run(f.name, func(t *testing.T) {
				resp := get(t, t.Context(), client, p, url+"/fail/"+strconv.Itoa(i))
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("reading the error body: %v", err)
				}
				if resp.StatusCode != f.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, f.wantStatus)
				}
				if string(body) != f.wantBody {
					t.Errorf("body %q, want %q", body, f.wantBody)
				}
				if cd := resp.Header.Get("Content-Disposition"); cd != "" {
					t.Errorf("Content-Disposition %q kept on an error response", cd)
				}
				r := rep.next(t)
				if r.Outcome != sink.Failed || r.Status != f.wantStatus || !errors.Is(r.Err, f.err) {
					t.Errorf("report: outcome %v, status %d, error %v; want failed, %d, %v", r.Outcome, r.Status, r.Err, f.wantStatus, f.err)
				}
				checkServing(t, client, p, url+"/ok")
			})
		}
	})
}

// TestFailureAfterFirstByte: a producer that fails (or panics) after bytes
// were sent leaves the client with a failed transfer — an unexpected EOF
// over HTTP/1.1, a reset stream over HTTP/2 — and never a clean end that
// would pass a truncated body off as complete, whether or not gin's
// Recovery is installed. The server goes on serving.
func TestFailureAfterFirstByte(t *testing.T) {
	forEachSetup(t, func(t *testing.T, p protocol, recovery bool) {
		rep := newReports()
		w := newWriter(sink.CSV{Header: []string{"id", "name"}}, rep)
		engine := newEngine(recovery)
		serveNumbers(engine)
		received := make([]chan struct{}, len(failures)) // the client has read the first row
		for i, f := range failures {
			received[i] = make(chan struct{})
			engine.GET("/fail/"+strconv.Itoa(i), func(c *gin.Context) {
				w.Stream(c, func(ctx context.Context, yield func([]string) error) error {
					if err := yield([]string{"1", "first"}); err != nil {
						return err
					}
					select {
					case <-received[i]:
					case <-ctx.Done():
						return context.Cause(ctx)
					}
					return f.fail()
				})
			})
		}
		client, url := serve(t, p, engine)

		for i, f := range failures {
			t.Run(f.name, func(t *testing.T) {
				resp := get(t, t.Context(), client, p, url+"/fail/"+strconv.Itoa(i))
				const sent = "id,name\n1,first\n"
				got := make([]byte, len(sent))
				if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != sent {
					t.Fatalf("first bytes: %q, %v; want %q", got, err, sent)
				}
				close(received[i])

				rest, err := io.ReadAll(resp.Body)
				switch {
				case err == nil:
					t.Errorf("the body ended cleanly after %q: a failed stream looks complete", rest)
				case !p.http2 && !errors.Is(err, syscall.ECONNRESET):
					t.Errorf("reading the rest: %v; want a connection reset", err)
				case p.http2 && !strings.Contains(err.Error(), "stream error"):
					t.Errorf("reading the rest: %v; want a stream error (RST_STREAM)", err)
				}
				if len(rest) > 0 {
					t.Errorf("bytes after the failure: %q", rest)
				}
				r := rep.next(t)
				if r.Outcome != sink.Failed || !errors.Is(r.Err, f.err) {
					t.Errorf("report: outcome %v, error %v; want failed, %v", r.Outcome, r.Err, f.err)
				}
				checkServing(t, client, p, url+"/ok")
			})
		}
	})
}

// TestStallTimeout: a client that stops reading while the producer has
// plenty to send is given up after Writer.StallTimeout. The stream reports
// Stalled, the producer is cancelled and the client, should it read again,
// finds a failed transfer. The write that runs into the deadline may be the
// Write of a batch larger than net/http's buffers or, for small batches,
// the Flush that follows it.
func TestStallTimeout(t *testing.T) {
	cases := []struct {
		name       string
		batchBytes int
	}{
		{"large batches, blocked in Write", smallBatch},
		{"one small item per batch, blocked in Flush", 1},
	}
	forEachProtocol(t, func(t *testing.T, p protocol) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				pr := newProbe()
				rep := newReports()
				w := newWriter(sink.Bytes{}, rep)
				w.Capacity, w.BatchBytes = smallCapacity, tc.batchBytes
				w.StallTimeout = 300 * time.Millisecond
				engine := newEngine(false)
				engine.GET("/endless", func(c *gin.Context) {
					w.Stream(c, pr.endless(bytes.Repeat([]byte("x"), itemSize)))
				})
				client, url := serveBuffered(t, p, engine, smallBuffer)

				resp := get(t, t.Context(), client, p, url+"/endless") // read the headers, then nothing

				r := rep.next(t) // within patience; not a performance claim
				if r.Outcome != sink.Stalled || !errors.Is(r.Err, sink.ErrStalled) {
					t.Errorf("report: outcome %v, error %v; want stalled, %v", r.Outcome, r.Err, sink.ErrStalled)
				}
				pr.checkCancelled(t, 1)
				if _, err := io.Copy(io.Discard, resp.Body); err == nil {
					t.Error("the stalled stream ended cleanly for the client")
				}
			})
		}
	})
}

// TestFanIn: the items of several producers all arrive, each producer's in
// the order it yielded them, whether the producers are passed to Stream or
// merged with generator.Merge.
func TestFanIn(t *testing.T) {
	const producers, each = 4, 500
	numbered := make([]generator.Func[string], producers)
	for k := range numbered {
		numbered[k] = func(_ context.Context, yield func(string) error) error {
			for j := range each {
				if err := yield(fmt.Sprintf("p%d %d", k, j)); err != nil {
					return err
				}
			}
			return nil
		}
	}
	cases := []struct {
		name      string
		producers []generator.Func[string]
	}{
		{"several producers", numbered},
		{"Merge", []generator.Func[string]{generator.Merge(numbered...)}},
	}

	forEachProtocol(t, func(t *testing.T, p protocol) {
		rep := newReports()
		w := newWriter(sink.Lines[string]{}, rep)
		w.Capacity = 8 // small, so the producers take turns
		engine := newEngine(false)
		for i, tc := range cases {
			engine.GET("/"+strconv.Itoa(i), func(c *gin.Context) { w.Stream(c, tc.producers...) })
		}
		client, url := serve(t, p, engine)

		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := get(t, t.Context(), client, p, url+"/"+strconv.Itoa(i))
				next := make([]int, producers) // the item expected next from each producer
				lines := bufio.NewScanner(resp.Body)
				for lines.Scan() {
					var k, j int
					if _, err := fmt.Sscanf(lines.Text(), "p%d %d", &k, &j); err != nil || k < 0 || k >= producers {
						t.Fatalf("unexpected line %q", lines.Text())
					}
					if j != next[k] {
						t.Fatalf("producer %d: got item %d, want %d", k, j, next[k])
					}
					next[k]++
				}
				if err := lines.Err(); err != nil {
					t.Fatalf("reading the body: %v", err)
				}
				for k, n := range next {
					if n != each {
						t.Errorf("producer %d: %d items arrived, want %d", k, n, each)
					}
				}
				if r := rep.next(t); r.Outcome != sink.Completed || r.Items != producers*each {
					t.Errorf("report: outcome %v, %d items; want completed, %d", r.Outcome, r.Items, producers*each)
				}
			})
		}
	})
}

// TestAdmissionLimit: with a Limit of one stream, a second stream while the
// first runs is turned away with 503, Retry-After and a body saying why;
// once the first has ended, a new stream is admitted.
func TestAdmissionLimit(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		release := make(chan struct{}) // lets the running stream end
		rep := newReports()
		w := newWriter(sink.Lines[int]{}, rep)
		w.Limit = sink.NewLimit(1, 2*time.Second)
		engine := newEngine(false)
		engine.GET("/limited", func(c *gin.Context) {
			w.Stream(c, func(ctx context.Context, yield func(int) error) error {
				if err := yield(1); err != nil {
					return err
				}
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			})
		})
		client, url := serve(t, p, engine)

		first := get(t, t.Context(), client, p, url+"/limited")
		if line, err := bufio.NewReader(first.Body).ReadString('\n'); err != nil || line != "1\n" {
			t.Fatalf("first stream: %q, %v; want its first line", line, err)
		}

		second := get(t, t.Context(), client, p, url+"/limited")
		body, _ := io.ReadAll(second.Body)
		if second.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("second stream: status %d, want 503", second.StatusCode)
		}
		if ra := second.Header.Get("Retry-After"); ra != "2" {
			t.Errorf("second stream: Retry-After %q, want \"2\"", ra)
		}
		if !strings.Contains(string(body), "too many streams") {
			t.Errorf("second stream: body %q does not say why", body)
		}
		if r := rep.next(t); r.Outcome != sink.Rejected || r.Status != http.StatusServiceUnavailable || !errors.Is(r.Err, sink.ErrRejected) {
			t.Errorf("second stream's report: outcome %v, status %d, error %v; want rejected, 503, %v", r.Outcome, r.Status, r.Err, sink.ErrRejected)
		}

		close(release)
		if _, err := io.Copy(io.Discard, first.Body); err != nil {
			t.Fatalf("first stream did not end cleanly: %v", err)
		}
		if r := rep.next(t); r.Outcome != sink.Completed {
			t.Errorf("first stream's report: outcome %v, want completed", r.Outcome)
		}

		// The client saw the first stream's end, which the server sends
		// after the handler has returned and released its place.
		third := get(t, t.Context(), client, p, url+"/limited")
		if body, err := io.ReadAll(third.Body); third.StatusCode != http.StatusOK || err != nil || string(body) != "1\n" {
			t.Errorf("third stream: status %d, body %q, error %v; want 200, \"1\\n\"", third.StatusCode, body, err)
		}
		if r := rep.next(t); r.Outcome != sink.Completed {
			t.Errorf("third stream's report: outcome %v, want completed", r.Outcome)
		}
	})
}

// TestResponseRecorder: an engine served through httptest.ResponseRecorder,
// which cannot notify of a closed connection (gin's Context.Stream panics
// there), streams without panicking: the recorder holds the whole body, or
// the error response.
func TestResponseRecorder(t *testing.T) {
	cases := []struct {
		name       string
		producer   generator.Func[int]
		wantStatus int
		wantBody   string
		wantReport sink.Outcome
	}{
		{"complete", generator.Count(10_000, 0), http.StatusOK, numberLines(10_000), sink.Completed},
		{"failure before the first byte", func(context.Context, func(int) error) error {
			return fmt.Errorf("report 42: %w", sink.ErrNotFound)
		}, http.StatusNotFound, "404 Not Found: report 42: not found\n", sink.Failed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := newReports()
			w := newWriter(sink.Lines[int]{}, rep)
			engine := newEngine(false) // a panic would fail the test
			engine.GET("/numbers", func(c *gin.Context) { w.Stream(c, tc.producer) })

			rec := httptest.NewRecorder()
			engine.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/numbers", nil))

			if rec.Code != tc.wantStatus || rec.Body.String() != tc.wantBody {
				t.Errorf("recorded status %d and %d bytes; want %d and %d bytes\n%s",
					rec.Code, rec.Body.Len(), tc.wantStatus, len(tc.wantBody), firstDifference(rec.Body.String(), tc.wantBody))
			}
			if r := rep.next(t); r.Outcome != tc.wantReport {
				t.Errorf("report: outcome %v, error %v; want %v", r.Outcome, r.Err, tc.wantReport)
			}
		})
	}
}

// TestIteratorInHandler: a handler can range over a stream with
// Stream.All. Every item comes with a nil error and a failure with a zero
// item; and when the loop ends — early by break, at the end, or at a
// failure — every producer has returned.
func TestIteratorInHandler(t *testing.T) {
	errBoom := errors.New("boom")
	endless := func(_ context.Context, yield func(int) error) error {
		for i := 1; ; i++ {
			if err := yield(i); err != nil {
				return err
			}
		}
	}
	cases := []struct {
		name       string
		producers  []generator.Func[int]
		breakAfter int // break out of the loop after so many items; 0: never
		wantItems  int
		wantErr    error
	}{
		{"break early", []generator.Func[int]{endless, endless}, 10, 10, nil},
		{"to the end", []generator.Func[int]{generator.Count(5, 0)}, 0, 5, nil},
		{"a producer fails", []generator.Func[int]{func(_ context.Context, yield func(int) error) error {
			if err := yield(1); err != nil {
				return err
			}
			return errBoom
		}, endless}, 0, -1, errBoom},
	}

	// loop is what a handler saw ranging over a stream.
	type loop struct {
		items   int
		err     error // the error the loop saw
		mixed   bool  // a pair held an item and an error
		running int64 // producers running when the loop had ended
	}

	forEachProtocol(t, func(t *testing.T, p protocol) {
		loops := make(chan loop, 1)
		engine := newEngine(false)
		for i, tc := range cases {
			engine.GET("/"+strconv.Itoa(i), func(c *gin.Context) {
				var running atomic.Int64
				producers := make([]generator.Func[int], len(tc.producers))
				for k, f := range tc.producers {
					producers[k] = tracked(&running, f)
				}
				var l loop
				s := generator.Start(c.Request.Context(), generator.Options{Capacity: 4}, producers...)
				for item, err := range s.All() {
					if err != nil {
						l.err, l.mixed = err, item != 0
						continue
					}
					l.items++
					if l.items == tc.breakAfter {
						break
					}
				}
				l.running = running.Load()
				loops <- l
				c.String(http.StatusOK, "%d items\n", l.items)
			})
		}
		client, url := serve(t, p, engine)

		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp := get(t, t.Context(), client, p, url+"/"+strconv.Itoa(i))
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					t.Fatalf("reading the body: %v", err)
				}
				l := <-loops
				if l.running != 0 {
					t.Errorf("%d producers still running when the loop had ended", l.running)
				}
				if tc.wantItems >= 0 && l.items != tc.wantItems {
					t.Errorf("loop saw %d items, want %d", l.items, tc.wantItems)
				}
				if !errors.Is(l.err, tc.wantErr) || l.mixed {
					t.Errorf("loop saw error %v (with an item: %v), want %v alone", l.err, l.mixed, tc.wantErr)
				}
			})
		}
	})
}

// tracked counts f as running until it has returned. A returning producer
// takes a moment to clean up, so that a loop that ended without waiting for
// its producers would see them still running.
func tracked(running *atomic.Int64, f generator.Func[int]) generator.Func[int] {
	return func(ctx context.Context, yield func(int) error) error {
		running.Add(1)
		defer func() {
			time.Sleep(20 * time.Millisecond) // cleaning up
			running.Add(-1)
		}()
		return f(ctx, yield)
	}
}

// TestHeaderTimeout: with Writer.HeaderTimeout, a client gets the headers
// while the first item is still to come; the item then arrives, and a
// failure after the early headers is a failed transfer, not a clean end.
func TestHeaderTimeout(t *testing.T) {
	forEachSetup(t, func(t *testing.T, p protocol, recovery bool) {
		release := make(chan error)
		rep := newReports()
		w := newWriter(sink.Lines[string]{}, rep)
		w.HeaderTimeout = 20 * time.Millisecond
		engine := newEngine(recovery)
		engine.GET("/late", func(c *gin.Context) {
			w.Stream(c, func(ctx context.Context, yield func(string) error) error {
				select {
				case err := <-release: // the client has its headers
					if err != nil {
						return err
					}
				case <-ctx.Done():
					return context.Cause(ctx)
				}
				return yield("at last")
			})
		})
		client, url := serve(t, p, engine)

		for _, fail := range []bool{false, true} {
			resp := get(t, t.Context(), client, p, url+"/late") // returns with the headers
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatalf("early headers: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if fail {
				release <- errors.New("the source went away")
				if _, err := io.ReadAll(resp.Body); err == nil {
					t.Error("a failure after early headers ended the body cleanly")
				}
				if r := rep.next(t); r.Outcome != sink.Failed {
					t.Errorf("report: %v, want failed", r.Outcome)
				}
				continue
			}
			release <- nil
			body, err := io.ReadAll(resp.Body)
			if err != nil || string(body) != "at last\n" {
				t.Errorf("body %q, %v; want the late item", body, err)
			}
			if r := rep.next(t); r.Outcome != sink.Completed || r.Items != 1 {
				t.Errorf("report: %v, %d items; want completed, 1", r.Outcome, r.Items)
			}
		}
	})
}

// TestWaitLongerThanStall: producers may take longer than the stall
// timeout between items: the timeout bounds writes to the client, not the
// waits for items (over HTTP/1.1 the write deadline may stay set while the
// stream waits, and is moved before the next write; over HTTP/2 it is
// cleared, since it would reset the stream).
//
// The client reads all the time, so the stall timeout is only a deadline
// for writes of a few bytes; it is a second, so that a machine starved of
// CPU cannot miss it, and the one wait between the two items is half as
// long again.
func TestWaitLongerThanStall(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		const stall = time.Second
		rep := newReports()
		w := newWriter(sink.Lines[int]{}, rep)
		w.StallTimeout = stall
		engine := newEngine(false)
		engine.GET("/paced", func(c *gin.Context) { w.Stream(c, generator.Count(2, stall*3/2)) })
		client, url := serve(t, p, engine)

		resp := get(t, t.Context(), client, p, url+"/paced")
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != numberLines(2) {
			t.Errorf("body %q, error %v; want %q", body, err, numberLines(2))
		}
		if r := rep.next(t); r.Outcome != sink.Completed {
			t.Errorf("report: %v, %v", r.Outcome, r.Err)
		}
	})
}

// TestEncoderRefusesFirstItem: an item that the encoder cannot frame,
// when it is the first, is answered with an error status and no byte of
// the stream (the CSV header included), as a producer failing before the
// first byte is.
func TestEncoderRefusesFirstItem(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		rep := newReports()
		lines := newWriter(sink.Lines[string]{}, rep)
		csvw := newWriter(sink.CSV{Header: []string{"a"}}, rep)
		engine := newEngine(true)
		engine.GET("/lines", func(c *gin.Context) { lines.Stream(c, generator.Slice([]string{"two\nlines", "ok"})) })
		engine.GET("/csv", func(c *gin.Context) { csvw.Stream(c, generator.Slice([][]string{{}})) })
		client, url := serve(t, p, engine)

		for _, path := range []string{"/lines", "/csv"} {
			resp := get(t, t.Context(), client, p, url+path)
			body, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusInternalServerError || string(body) != "500 Internal Server Error\n" {
				t.Errorf("%s: status %d, body %q, error %v; want 500 and its one-line message", path, resp.StatusCode, body, err)
			}
			if r := rep.next(t); r.Outcome != sink.Failed || r.Status != http.StatusInternalServerError || r.Items != 0 {
				t.Errorf("%s: report %+v", path, r)
			}
		}
	})
}
