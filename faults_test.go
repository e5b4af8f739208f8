package ginstream_test

// Producer faults at random points (issue 5, "Faults" and "Nothing lost"):
// a producer that fails or panics, or an item its encoder refuses, at item
// k of n, through sink.Writer with each encoder, compressed or not, over
// HTTP/1.1 and HTTP/2, with and without gin's Recovery. Helpers live in
// e2e_helpers_test.go.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/internal/testscale"
	"github.com/ginstream/ginstream/sink"
)

// faultKind is how the producer of a fault test's stream ends.
type faultKind int

const (
	noFault       faultKind = iota // it yields its n items and returns nil
	producerError                  // it returns errInjected instead of item k
	producerPanic                  // it panics with errInjected instead of item k
	badItem                        // item k is one its encoder refuses
)

var faultKindNames = [...]string{"none", "error", "panic", "bad item"}

func (k faultKind) String() string { return faultKindNames[k] }

// errInjected is what the failing producers return or panic with.
var errInjected = errors.New("injected producer failure")

// faultPlan is one stream of TestProducerFaults: n items, a fault at item
// k (k = n: after the last item), and whether the producer waits for the
// client to have received bytes before failing.
type faultPlan struct {
	encoder int // index in faultEncoders
	n, k    int
	kind    faultKind
	wait    bool   // fail only once the client has read a byte (k > 0)
	coding  string // "" (identity), "gzip" or "zstd"
	inline  bool   // through Writer.StreamInline rather than Writer.Stream
}

func (p faultPlan) String() string {
	wait := ""
	if p.wait {
		wait = ", once the client has read a byte"
	}
	how := "Stream"
	if p.inline {
		how = "StreamInline"
	}
	return fmt.Sprintf("%s %s: %v at item %d of %d%s, coding %q", how, faultEncoders[p.encoder].name, p.kind, p.k, p.n, wait, p.coding)
}

// faultEncoder streams the items of one type through a sink encoder, and
// encodes them independently of package sink, as the reference.
type faultEncoder struct {
	name string
	// stream streams plan's items through w's settings with this encoder;
	// before fails the producer at item plan.k (see faultProducer).
	stream func(c *gin.Context, w sink.Writer[any], plan faultPlan, before func(ctx context.Context) error)
	// source is the reference encoding of the first k items (and of any
	// header).
	source func(k int) []byte
	// canRefuse says whether the encoder refuses some item.
	canRefuse bool
}

// Items of the fault tests, from their index alone.
func lineItem(i int) string { return strconv.Itoa(i) + " " + strings.Repeat("ü", i%37) }

func chunkItem(i int) []byte {
	b := make([]byte, 1+(i*7919)%3000)
	rand.NewChaCha8([32]byte{byte(i), byte(i >> 8)}).Read(b)
	return b
}

type jsonItem struct {
	N    int     `json:"n"`
	Text string  `json:"text"`
	F    float64 `json:"f"`
}

func ndjsonItem(i int) jsonItem {
	return jsonItem{i, fmt.Sprintf("<%d> \"quoted\" & ünïcödé\n", i), float64(i) / 8}
}

func csvItem(i int) []string {
	return []string{strconv.Itoa(i), fmt.Sprintf("name, %d", i), strings.Repeat("\"", i%3) + "\nx"}
}

var csvHeader = []string{"n", "name", "note"}

// faultProducer returns a producer of n items made by item, that fails as
// plan says: before is called ahead of item plan.k (and may wait for the
// client), then the producer returns or panics with errInjected, or yields
// bad in place of item k.
func faultProducer[T any](plan faultPlan, item func(int) T, bad T, before func(context.Context) error) generator.Func[T] {
	return func(ctx context.Context, yield func(T) error) error {
		for i := 0; i <= plan.n; i++ {
			if i == plan.k && plan.kind != noFault {
				if err := before(ctx); err != nil {
					return err
				}
				switch plan.kind {
				case producerError:
					return fmt.Errorf("item %d: %w", i, errInjected)
				case producerPanic:
					panic(errInjected)
				case badItem:
					if err := yield(bad); err != nil {
						return err
					}
				}
			}
			if i == plan.n {
				return nil
			}
			if err := yield(item(i)); err != nil {
				return err
			}
		}
		return nil
	}
}

// streamWith streams the items of producer with enc and w's settings,
// through Writer.StreamInline if plan says so, else Writer.Stream.
func streamWith[T any](c *gin.Context, w sink.Writer[any], plan faultPlan, enc sink.Encoder[T], producer generator.Func[T]) {
	tw := &sink.Writer[T]{Encoder: enc,
		Capacity: w.Capacity, BatchBytes: w.BatchBytes,
		Config: sink.Config{Compress: w.Compress, OnReport: w.OnReport, Logger: w.Logger},
	}
	if plan.inline {
		tw.StreamInline(c, producer)
	} else {
		tw.Stream(c, producer)
	}
}

var faultEncoders = []faultEncoder{{
	name: "Lines",
	stream: func(c *gin.Context, w sink.Writer[any], plan faultPlan, before func(context.Context) error) {
		streamWith(c, w, plan, sink.Lines[string]{}, faultProducer(plan, lineItem, "a line\nwith a line feed", before))
	},
	source: func(k int) []byte {
		var b []byte
		for i := range k {
			b = append(append(b, lineItem(i)...), '\n')
		}
		return b
	},
	canRefuse: true,
}, {
	name: "Bytes",
	stream: func(c *gin.Context, w sink.Writer[any], plan faultPlan, before func(context.Context) error) {
		streamWith(c, w, plan, sink.Bytes{}, faultProducer(plan, chunkItem, nil, before))
	},
	source: func(k int) []byte {
		var b []byte
		for i := range k {
			b = append(b, chunkItem(i)...)
		}
		return b
	},
}, {
	name: "NDJSON",
	stream: func(c *gin.Context, w sink.Writer[any], plan faultPlan, before func(context.Context) error) {
		streamWith(c, w, plan, sink.NDJSON[jsonItem]{}, faultProducer(plan, ndjsonItem, jsonItem{F: math.NaN()}, before))
	},
	source: func(k int) []byte {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		for i := range k {
			if err := enc.Encode(ndjsonItem(i)); err != nil {
				panic(err)
			}
		}
		return b.Bytes()
	},
	canRefuse: true,
}, {
	name: "CSV",
	stream: func(c *gin.Context, w sink.Writer[any], plan faultPlan, before func(context.Context) error) {
		streamWith(c, w, plan, sink.CSV{Header: csvHeader}, faultProducer(plan, csvItem, []string{}, before))
	},
	source: func(k int) []byte {
		var b bytes.Buffer
		cw := csv.NewWriter(&b)
		cw.Write(csvHeader)
		for i := range k {
			cw.Write(csvItem(i))
		}
		cw.Flush()
		return b.Bytes()
	},
	canRefuse: true,
}}

// randomPlan returns a plan chosen by rng.
func randomPlan(rng *rand.Rand) faultPlan {
	p := faultPlan{encoder: rng.IntN(len(faultEncoders))}
	switch rng.IntN(4) {
	case 0:
		p.n = rng.IntN(3) // none, one or two items
	case 1:
		p.n = rng.IntN(100)
	default:
		p.n = rng.IntN(3000) // several batches
	}
	p.kind = faultKind(rng.IntN(4))
	if p.kind == badItem && !faultEncoders[p.encoder].canRefuse {
		p.kind = producerError
	}
	switch rng.IntN(4) {
	case 0:
		p.k = 0
	case 1:
		p.k = p.n
	default:
		p.k = rng.IntN(p.n + 1)
	}
	if p.kind == noFault {
		p.k = p.n
	}
	p.wait = p.kind != noFault && p.k > 0 && rng.IntN(2) == 0
	p.coding = []string{"", "", "gzip", "zstd"}[rng.IntN(4)]
	p.inline = rng.IntN(4) == 0
	return p
}

// faultSeed returns the seed of the test's random choices: that of
// GINSTREAM_FAULT_SEED, or a fixed one. It is logged if t fails.
func faultSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(20240605)
	if s := os.Getenv("GINSTREAM_FAULT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GINSTREAM_FAULT_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("random choices from seed %d; run again with GINSTREAM_FAULT_SEED=%d", seed, seed)
		}
	})
	return seed
}

// TestProducerFaults: a producer that fails or panics, or yields an item
// its encoder refuses, at a random item k of n — before the first byte,
// in the middle, after the last item, and at random moments or only once
// the client has received bytes — through each encoder, compressed or not,
// with Writer.Stream or (one stream in four) Writer.StreamInline, over
// HTTP/1.1 and HTTP/2, with and without gin's Recovery. The client always
// detects the failure: an error status when nothing was sent, else a
// failed transfer (an unexpected EOF, a reset stream), never a clean end;
// what it received before is a prefix of the source's bytes. A stream that
// completes is byte-exact (SHA-256 of the decoded body against the
// source's). Every stream reports how it went, and the server goes on
// serving. 60 streams per setup (240 in all); 600 with -tags long.
func TestProducerFaults(t *testing.T) {
	seed := faultSeed(t)
	perSetup := testscale.Pick(60, 600)
	setup := 0
	forEachSetup(t, func(t *testing.T, p protocol, recovery bool) {
		setup++
		rep := newReports()
		var received sync.Map // plan id → chan struct{}, closed once the client has read a byte
		engine := newEngine(recovery)
		serveNumbers(engine)
		engine.GET("/fault", func(c *gin.Context) {
			var plan faultPlan
			if err := json.Unmarshal([]byte(c.Query("plan")), &plan); err != nil {
				c.String(http.StatusBadRequest, "%v", err)
				return
			}
			ch, _ := received.LoadOrStore(c.Query("id"), make(chan struct{}))
			before := func(ctx context.Context) error {
				if !plan.wait {
					return nil
				}
				select {
				case <-ch.(chan struct{}):
					return nil
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			w := sink.Writer[any]{BatchBytes: 4 << 10, Config: sink.Config{Compress: plan.coding != "", OnReport: rep.hook, Logger: quiet}}
			faultEncoders[plan.encoder].stream(c, w, plan, before)
		})
		client, url := serve(t, p, engine)

		counts := map[string]int{}
		for i := range perSetup {
			rng := rand.New(rand.NewPCG(seed, uint64(setup*perSetup+i)))
			plan := randomPlan(rng)
			id := strconv.Itoa(i)
			ch, _ := received.LoadOrStore(id, make(chan struct{}))
			how, err := runFaultPlan(client, p, url, id, plan, ch.(chan struct{}), rep)
			if err != nil {
				t.Errorf("stream %d (%v): %v", i, plan, err)
				continue
			}
			counts[how]++
		}
		checkServing(t, client, p, url+"/ok")
		t.Logf("seed %d: %d streams: %v", seed, perSetup, counts)
	})
}

// MarshalJSON encodes the plan for the query string of its request.
func (p faultPlan) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{p.encoder, p.n, p.k, p.kind, p.wait, p.coding, p.inline})
}

// UnmarshalJSON decodes a plan encoded by MarshalJSON.
func (p *faultPlan) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, &[]any{&p.encoder, &p.n, &p.k, &p.kind, &p.wait, &p.coding, &p.inline})
}

// runFaultPlan requests the stream of plan and checks what the client gets
// and what the stream reports. It returns how the stream ended for the
// client: "complete", "error status" or "failed transfer".
func runFaultPlan(client *http.Client, p protocol, base, id string, plan faultPlan, received chan struct{}, rep reports) (string, error) {
	enc := faultEncoders[plan.encoder]
	planJSON, _ := json.Marshal(plan)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/fault?id="+id+"&plan="+string(planJSON), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept-Encoding", plan.coding)
	if plan.coding == "" {
		req.Header.Set("Accept-Encoding", "identity")
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != p.major() {
		return "", fmt.Errorf("response over %s, want %s", resp.Proto, p.name)
	}

	// The raw body, as it arrives: the first byte unblocks a producer
	// that waits for it.
	var raw bytes.Buffer
	first := make([]byte, 1)
	n, readErr := io.ReadFull(resp.Body, first)
	raw.Write(first[:n])
	close(received)
	if readErr == nil {
		_, readErr = io.Copy(&raw, resp.Body)
	} else if readErr == io.EOF {
		readErr = nil // an empty body, ended cleanly
	}

	r, ok := nextReport(rep)
	if !ok {
		return "", fmt.Errorf("no report within %v", patience)
	}
	if resp.StatusCode != http.StatusOK {
		// Failed before the first byte.
		switch {
		case plan.kind == noFault:
			return "", fmt.Errorf("status %d for a stream without fault: %q", resp.StatusCode, raw.Bytes())
		case plan.wait:
			return "", fmt.Errorf("status %d, though the client was to read bytes before the failure", resp.StatusCode)
		case resp.StatusCode != http.StatusInternalServerError || readErr != nil:
			return "", fmt.Errorf("status %d, body %q, %v; want 500 and a complete message", resp.StatusCode, raw.Bytes(), readErr)
		case r.Outcome != sink.Failed || r.Status != resp.StatusCode:
			return "", fmt.Errorf("report %v, status %d (%v); want failed, %d", r.Outcome, r.Status, r.Err, resp.StatusCode)
		}
		return "error status", checkFaultErr(plan, r.Err)
	}
	if plan.kind != noFault && plan.k == 0 {
		return "", fmt.Errorf("status 200 for a stream that failed at its first item")
	}
	if got := resp.Header.Get("Content-Encoding"); got != plan.coding {
		return "", fmt.Errorf("Content-Encoding %q, want %q", got, plan.coding)
	}
	body, decodeErr := decodeAll(plan.coding, raw.Bytes())

	if plan.kind == noFault {
		want := enc.source(plan.n)
		switch {
		case readErr != nil:
			return "", fmt.Errorf("a complete stream ended with %v after %d bytes", readErr, raw.Len())
		case decodeErr != nil:
			return "", fmt.Errorf("decoding the body: %v", decodeErr)
		case sha256.Sum256(body) != sha256.Sum256(want):
			return "", fmt.Errorf("SHA-256 of the body (%d bytes) differs from the source's (%d bytes)\n%s", len(body), len(want), firstDifference(string(body), string(want)))
		case r.Outcome != sink.Completed || r.Err != nil:
			return "", fmt.Errorf("report %v (%v), want completed", r.Outcome, r.Err)
		}
		return "complete", nil
	}

	// Failed after the first byte: the client must see it.
	switch {
	case readErr == nil:
		return "", fmt.Errorf("the body ended cleanly after %d bytes: a failed stream looks complete", raw.Len())
	case !p.http2 && !errors.Is(readErr, syscall.ECONNRESET):
		return "", fmt.Errorf("reading the body: %v; want a connection reset", readErr)
	case p.http2 && !strings.Contains(readErr.Error(), "stream error"):
		return "", fmt.Errorf("reading the body: %v; want a stream error (RST_STREAM)", readErr)
	case !bytes.HasPrefix(enc.source(plan.k), body):
		return "", fmt.Errorf("the %d bytes received (decoded) are not a prefix of the source's %d bytes before the fault", len(body), len(enc.source(plan.k)))
	case r.Outcome != sink.Failed:
		return "", fmt.Errorf("report %v (%v), want failed", r.Outcome, r.Err)
	}
	return "failed transfer", checkFaultErr(plan, r.Err)
}

// checkFaultErr checks that a report's error is the plan's fault.
func checkFaultErr(plan faultPlan, err error) error {
	var pe *generator.PanicError
	switch {
	case plan.kind == producerPanic && (!errors.As(err, &pe) || !errors.Is(err, errInjected)):
		return fmt.Errorf("report error %v, want the panic with %v", err, errInjected)
	case plan.kind == producerError && !errors.Is(err, errInjected):
		return fmt.Errorf("report error %v, want %v", err, errInjected)
	case plan.kind == badItem && (err == nil || errors.Is(err, errInjected)):
		return fmt.Errorf("report error %v, want the encoder's", err)
	}
	return nil
}

// decodeAll decodes as much of body, in coding, as it can: all of it, or
// the bytes before an error.
func decodeAll(coding string, body []byte) ([]byte, error) {
	if coding == "" {
		return body, nil
	}
	r, err := decoders[coding](bytes.NewReader(body))
	if err != nil {
		if len(body) == 0 {
			return nil, nil
		}
		return nil, err
	}
	var out bytes.Buffer
	_, err = io.Copy(&out, r)
	return out.Bytes(), err
}

// nextReport returns the next report, or false if none comes within
// patience.
func nextReport(rep reports) (sink.Report, bool) {
	select {
	case r := <-rep:
		return r, true
	case <-time.After(patience):
		return sink.Report{}, false
	}
}
