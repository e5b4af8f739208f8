package ginstream_test

// End-to-end specification of sink.Writer.StreamInline, which runs one
// producer on the handler's goroutine and writes each item as it is
// yielded. Helpers live in e2e_helpers_test.go and generator_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// TestInlineComplete: an inline stream that ends normally arrives byte for
// byte with a streaming response's headers, including an encoder's
// preamble for a stream with no items, and reports its counts.
func TestInlineComplete(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		rep := newReports()
		csvw := newWriter(sink.CSV{Header: []string{"n", "square"}}, rep)
		engine := newEngine(false)
		engine.GET("/squares/:n", func(c *gin.Context) {
			n, _ := strconv.Atoi(c.Param("n"))
			csvw.StreamInline(c, func(ctx context.Context, yield func([]string) error) error {
				for i := 1; i <= n; i++ {
					if err := yield([]string{strconv.Itoa(i), strconv.Itoa(i * i)}); err != nil {
						return err
					}
				}
				return nil
			})
		})
		client, url := serve(t, p, engine)

		for _, n := range []int{0, 1, 500} {
			t.Run(fmt.Sprintf("%d rows", n), func(t *testing.T) {
				want := "n,square\n"
				for i := 1; i <= n; i++ {
					want += fmt.Sprintf("%d,%d\n", i, i*i)
				}
				resp := get(t, t.Context(), client, p, url+"/squares/"+strconv.Itoa(n))
				body, err := io.ReadAll(resp.Body)
				if err != nil || string(body) != want {
					t.Fatalf("body: %v; %s", err, firstDifference(string(body), want))
				}
				if ct := resp.Header.Get("Content-Type"); ct != (sink.CSV{}).ContentType() {
					t.Errorf("Content-Type %q", ct)
				}
				if resp.Header.Get("X-Accel-Buffering") != "no" || resp.Header.Get("Cache-Control") != "no-cache" {
					t.Errorf("streaming headers missing: %v", resp.Header)
				}
				r := rep.next(t)
				if r.Outcome != sink.Completed || r.Err != nil || r.Items != int64(n) || r.Bytes != int64(len(want)) {
					t.Errorf("report %+v; want completed, %d items, %d bytes", r, n, len(want))
				}
			})
		}
	})
}

// TestInlineDelivery: each item reaches the client before yield returns,
// so a producer that waits for the client to have read one item before it
// yields the next one (which would deadlock if the sink held items back)
// gets through.
func TestInlineDelivery(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		const items = 5
		read := make(chan int)
		rep := newReports()
		w := newWriter(sink.Lines[int]{}, rep)
		engine := newEngine(false)
		engine.GET("/lockstep", func(c *gin.Context) {
			w.StreamInline(c, func(ctx context.Context, yield func(int) error) error {
				for i := range items {
					if err := yield(i); err != nil {
						return err
					}
					select {
					case got := <-read:
						if got != i {
							return fmt.Errorf("client read %d after item %d", got, i)
						}
					case <-ctx.Done():
						return context.Cause(ctx)
					case <-time.After(patience):
						return fmt.Errorf("item %d not read within %v: it did not reach the client", i, patience)
					}
				}
				return nil
			})
		})
		client, url := serve(t, p, engine)

		resp := get(t, t.Context(), client, p, url+"/lockstep")
		lines := bufio.NewScanner(resp.Body)
		for i := range items {
			if !lines.Scan() {
				t.Fatalf("item %d: %v", i, lines.Err())
			}
			n, err := strconv.Atoi(lines.Text())
			if err != nil {
				t.Fatal(err)
			}
			read <- n
		}
		if lines.Scan() || lines.Err() != nil {
			t.Errorf("after the items: %q, %v; want a clean end", lines.Text(), lines.Err())
		}
		if r := rep.next(t); r.Outcome != sink.Completed || r.Items != items {
			t.Errorf("report %+v", r)
		}
	})
}

// TestInlineFailures: a producer that fails or panics gets the client an
// error status before the first byte and a failed transfer after it, with
// or without gin's Recovery, as with Writer.Stream.
func TestInlineFailures(t *testing.T) {
	forEachSetup(t, func(t *testing.T, p protocol, recovery bool) {
		rep := newReports()
		w := newWriter(sink.Lines[string]{}, rep)
		engine := newEngine(recovery)
		serveNumbers(engine)
		for i, f := range failures {
			engine.GET("/before/"+strconv.Itoa(i), func(c *gin.Context) {
				w.StreamInline(c, func(context.Context, func(string) error) error { return f.fail() })
			})
			engine.GET("/after/"+strconv.Itoa(i), func(c *gin.Context) {
				w.StreamInline(c, func(ctx context.Context, yield func(string) error) error {
					if err := yield("first"); err != nil {
						return err
					}
					return f.fail()
				})
			})
		}
		client, url := serve(t, p, engine)

		for i, f := range failures {
			t.Run(f.name+" before the first byte", func(t *testing.T) {
				resp := get(t, t.Context(), client, p, url+"/before/"+strconv.Itoa(i))
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != f.wantStatus || string(body) != f.wantBody {
					t.Errorf("status %d, body %q, error %v; want %d and %q", resp.StatusCode, body, err, f.wantStatus, f.wantBody)
				}
				if r := rep.next(t); r.Outcome != sink.Failed || r.Status != f.wantStatus || !errors.Is(r.Err, f.err) {
					t.Errorf("report: %v, %d, %v", r.Outcome, r.Status, r.Err)
				}
			})
			t.Run(f.name+" after the first byte", func(t *testing.T) {
				resp := get(t, t.Context(), client, p, url+"/after/"+strconv.Itoa(i))
				body, err := io.ReadAll(resp.Body)
				if err == nil {
					t.Errorf("the body %q ended cleanly: a failed stream looks complete", body)
				}
				if string(body) != "first\n" {
					t.Errorf("body %q, want the first item only", body)
				}
				if r := rep.next(t); r.Outcome != sink.Failed || !errors.Is(r.Err, f.err) {
					t.Errorf("report: %v, %v", r.Outcome, r.Err)
				}
				checkServing(t, client, p, url+"/ok")
			})
		}
	})
}

// TestInlineStall: a client that stops reading is given up after the stall
// timeout: yield fails with ErrStalled, and the producer's context is
// cancelled.
func TestInlineStall(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		checkNoGoroutineLeft(t)
		pr := newProbe()
		rep := newReports()
		w := newWriter(sink.Bytes{}, rep)
		w.StallTimeout = 300 * time.Millisecond
		engine := newEngine(false)
		engine.GET("/endless", func(c *gin.Context) {
			w.StreamInline(c, pr.endless(bytes.Repeat([]byte("x"), itemSize)))
		})
		client, url := serveBuffered(t, p, engine, smallBuffer)

		resp := get(t, t.Context(), client, p, url+"/endless") // headers, then nothing read
		r := rep.next(t)
		if r.Outcome != sink.Stalled || !errors.Is(r.Err, sink.ErrStalled) {
			t.Errorf("report: outcome %v, error %v; want stalled", r.Outcome, r.Err)
		}
		pr.checkCancelled(t, 1)
		if _, err := io.Copy(io.Discard, resp.Body); err == nil {
			t.Error("the stalled stream ended cleanly for the client")
		}
	})
}

// TestInlineIdle: a producer may wait between items for longer than the
// stall timeout: the timeout bounds writes, not the waits between them
// (over HTTP/2 a write deadline left set would reset the stream while it
// waits).
//
// The client reads all the time: the stall timeout, a second so that a
// machine starved of CPU cannot miss it, only bounds writes of a few bytes;
// the producer waits half as long again after each item.
func TestInlineIdle(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		const stall = time.Second
		rep := newReports()
		w := newWriter(sink.Lines[string]{}, rep)
		w.StallTimeout = stall
		engine := newEngine(false)
		engine.GET("/slow", func(c *gin.Context) {
			w.StreamInline(c, func(ctx context.Context, yield func(string) error) error {
				for _, s := range []string{"one", "two"} {
					if err := yield(s); err != nil {
						return err
					}
					time.Sleep(stall * 3 / 2)
				}
				return nil
			})
		})
		client, url := serve(t, p, engine)

		resp := get(t, t.Context(), client, p, url+"/slow")
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != "one\ntwo\n" {
			t.Errorf("body %q, error %v", body, err)
		}
		if r := rep.next(t); r.Outcome != sink.Completed {
			t.Errorf("report: %v, %v", r.Outcome, r.Err)
		}
	})
}

// TestInlineDisconnect: a client that leaves while the producer waits for
// its next item cancels the producer's context, and the stream reports
// ClientGone.
func TestInlineDisconnect(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		checkNoGoroutineLeft(t)
		pr := newProbe()
		rep := newReports()
		w := newWriter(sink.Bytes{}, rep)
		engine := newEngine(false)
		engine.GET("/waits", func(c *gin.Context) { w.StreamInline(c, pr.waitsAfter([]byte("hello\n"))) })
		client, url := serve(t, p, engine)

		ctx, disconnect := context.WithCancel(t.Context())
		resp := get(t, ctx, client, p, url+"/waits")
		if _, err := io.ReadFull(resp.Body, make([]byte, 6)); err != nil {
			t.Fatal(err)
		}
		disconnect()
		r := rep.next(t)
		if r.Outcome != sink.ClientGone || !errors.Is(r.Err, sink.ErrClientGone) {
			t.Errorf("report: outcome %v, error %v; want client_gone", r.Outcome, r.Err)
		}
		pr.checkCancelled(t, 1)
	})
}

// TestInlineYieldAfterDisconnect: a producer that goes on yielding after
// the client left, without looking at its context, is told so by yield
// (ErrClientGone), and the item is neither counted nor written: the
// connection, whose peer has only just closed it, may still take a write.
func TestInlineYieldAfterDisconnect(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		checkNoGoroutineLeft(t)
		rep := newReports()
		w := newWriter(sink.Lines[string]{}, rep)
		lateErr := make(chan error, 1)
		engine := newEngine(false)
		engine.GET("/deaf", func(c *gin.Context) {
			w.StreamInline(c, func(_ context.Context, yield func(string) error) error {
				if err := yield("first"); err != nil {
					return err
				}
				<-c.Request.Context().Done() // the client left
				err := yield("late")
				lateErr <- err
				return err
			})
		})
		client, url := serve(t, p, engine)

		ctx, disconnect := context.WithCancel(t.Context())
		resp := get(t, ctx, client, p, url+"/deaf")
		if _, err := io.ReadFull(resp.Body, make([]byte, len("first\n"))); err != nil {
			t.Fatal(err)
		}
		disconnect()
		if err := <-lateErr; !errors.Is(err, sink.ErrClientGone) {
			t.Errorf("yield after the client left: %v, want %v", err, sink.ErrClientGone)
		}
		r := rep.next(t)
		if r.Outcome != sink.ClientGone || r.Items != 1 || r.Bytes != int64(len("first\n")) {
			t.Errorf("report: outcome %v, %d items, %d bytes; want client_gone, 1 item, %d bytes", r.Outcome, r.Items, r.Bytes, len("first\n"))
		}
	})
}

// TestInlineConcurrentYields: yield is safe for concurrent use: the items
// of goroutines that the producer starts and joins arrive whole, each
// goroutine's in its order.
func TestInlineConcurrentYields(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		const workers, items = 8, 200
		rep := newReports()
		w := newWriter(sink.Lines[string]{}, rep)
		engine := newEngine(false)
		engine.GET("/fan-in", func(c *gin.Context) {
			w.StreamInline(c, func(ctx context.Context, yield func(string) error) error {
				var wg sync.WaitGroup
				errs := make([]error, workers)
				for g := range workers {
					wg.Go(func() {
						for i := range items {
							if errs[g] = yield(fmt.Sprintf("%d-%d-%s", g, i, strings.Repeat("z", 100))); errs[g] != nil {
								return
							}
						}
					})
				}
				wg.Wait()
				return errors.Join(errs...)
			})
		})
		client, url := serve(t, p, engine)

		resp := get(t, t.Context(), client, p, url+"/fan-in")
		next := make([]int, workers)
		lines := bufio.NewScanner(resp.Body)
		for lines.Scan() {
			var g, i int
			var tail string
			if _, err := fmt.Sscanf(lines.Text(), "%d-%d-%s", &g, &i, &tail); err != nil || g < 0 || g >= workers || tail != strings.Repeat("z", 100) {
				t.Fatalf("mangled line %q (%v)", lines.Text(), err)
			}
			if i != next[g] {
				t.Fatalf("worker %d: item %d after %d", g, i, next[g]-1)
			}
			next[g]++
		}
		if err := lines.Err(); err != nil {
			t.Fatal(err)
		}
		for g, n := range next {
			if n != items {
				t.Errorf("worker %d: %d items, want %d", g, n, items)
			}
		}
		if r := rep.next(t); r.Outcome != sink.Completed || r.Items != workers*items {
			t.Errorf("report %+v", r)
		}
	})
}

// TestInlineYieldAfterReturn: a yield called after the producer returned
// (from a goroutine it failed to join) fails with generator.ErrClosed and
// writes nothing.
func TestInlineYieldAfterReturn(t *testing.T) {
	rep := newReports()
	w := newWriter(sink.Lines[string]{}, rep)
	kept := make(chan func(string) error, 1)
	engine := newEngine(false)
	engine.GET("/leaky", func(c *gin.Context) {
		w.StreamInline(c, func(ctx context.Context, yield func(string) error) error {
			kept <- yield
			return yield("only")
		})
	})
	client, url := serve(t, protocol{"HTTP1.1", false}, engine)

	resp := get(t, t.Context(), client, protocol{"HTTP1.1", false}, url+"/leaky")
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "only\n" {
		t.Fatalf("body %q, %v", body, err)
	}
	rep.next(t)
	if err := (<-kept)("late"); !errors.Is(err, generator.ErrClosed) {
		t.Errorf("yield after the producer returned: %v, want %v", err, generator.ErrClosed)
	}
}

// TestInlineLimit: StreamInline honours the Writer's admission limit.
func TestInlineLimit(t *testing.T) {
	p := protocol{"HTTP1.1", false}
	rep := newReports()
	w := newWriter(sink.Lines[string]{}, rep)
	w.Limit = sink.NewLimit(1, time.Second)
	release := make(chan struct{})
	engine := newEngine(false)
	engine.GET("/held", func(c *gin.Context) {
		w.StreamInline(c, func(ctx context.Context, yield func(string) error) error {
			if err := yield("held"); err != nil {
				return err
			}
			<-release
			return nil
		})
	})
	client, url := serve(t, p, engine)

	first := get(t, t.Context(), client, p, url+"/held")
	if _, err := bufio.NewReader(first.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	second := get(t, t.Context(), client, p, url+"/held")
	if second.StatusCode != http.StatusServiceUnavailable || second.Header.Get("Retry-After") != "1" {
		t.Errorf("second stream: %d, Retry-After %q; want 503, 1", second.StatusCode, second.Header.Get("Retry-After"))
	}
	if r := rep.next(t); r.Outcome != sink.Rejected {
		t.Errorf("second stream's report: %v", r.Outcome)
	}
	close(release)
	if r := rep.next(t); r.Outcome != sink.Completed {
		t.Errorf("first stream's report: %v, %v", r.Outcome, r.Err)
	}
}

// refusing encodes strings as lines, but fails for "bad".
type refusing struct{ sink.Lines[string] }

var errBadItem = errors.New("bad item")

func (e refusing) Append(dst []byte, item string) ([]byte, error) {
	if item == "bad" {
		return dst, errBadItem
	}
	return e.Lines.Append(dst, item)
}

// TestOpenContext: the context of a stream made with Writer.Open is made
// only when asked for, and is then what it would have been had it been
// made at Open: already cancelled, with the stream's error as cause, for
// a stream that failed or was closed before, and ended by MaxDuration
// counted from Open.
func TestOpenContext(t *testing.T) {
	rep := newReports()
	w := newWriter[string](refusing{}, rep)
	w.MaxDuration = 400 * time.Millisecond
	type result struct {
		done  bool  // the context was done when asked for, or soon after
		cause error // its cause
	}
	results := make(chan result, 1)
	waitDone := func(ctx context.Context) result {
		select {
		case <-ctx.Done():
			return result{true, context.Cause(ctx)}
		case <-time.After(patience):
			return result{false, nil}
		}
	}
	doneNow := func(ctx context.Context) result {
		return result{ctx.Err() != nil, context.Cause(ctx)}
	}
	engine := newEngine(false)
	engine.GET("/failed-then-asked", func(c *gin.Context) {
		o, _ := w.Open(c)
		err := o.Yield("bad")
		results <- doneNow(o.Context())
		o.Close(err)
	})
	engine.GET("/asked-then-failed", func(c *gin.Context) {
		o, _ := w.Open(c)
		ctx := o.Context()
		err := o.Yield("bad")
		results <- doneNow(ctx)
		o.Close(err)
	})
	engine.GET("/closed-then-asked", func(c *gin.Context) {
		o, _ := w.Open(c)
		o.Close(o.Yield("good"))
		results <- doneNow(o.Context())
	})
	engine.GET("/clock", func(c *gin.Context) {
		o, _ := w.Open(c)
		start := time.Now()
		time.Sleep(w.MaxDuration * 3 / 4)
		r := waitDone(o.Context())
		if elapsed := time.Since(start); elapsed > w.MaxDuration*11/8 {
			r.cause = fmt.Errorf("done %v after Open, not at MaxDuration (%v) after it: %v", elapsed, w.MaxDuration, r.cause)
		}
		results <- r
		o.Close(context.Cause(o.Context()))
	})
	p := protocol{"HTTP1.1", false}
	client, url := serve(t, p, engine)
	for _, tc := range []struct {
		path    string
		cause   error
		outcome sink.Outcome
	}{
		{"/failed-then-asked", errBadItem, sink.Failed},
		{"/asked-then-failed", errBadItem, sink.Failed},
		{"/closed-then-asked", generator.ErrClosed, sink.Completed},
		{"/clock", sink.ErrMaxDuration, sink.Expired},
	} {
		t.Run(tc.path[1:], func(t *testing.T) {
			resp := get(t, t.Context(), client, p, url+tc.path)
			_, _ = io.ReadAll(resp.Body)
			r := <-results
			if !r.done || !errors.Is(r.cause, tc.cause) {
				t.Errorf("the stream's context: done %v, cause %v; want done, cause %v", r.done, r.cause, tc.cause)
			}
			if rep := rep.next(t); rep.Outcome != tc.outcome {
				t.Errorf("report: %v, %v; want %v", rep.Outcome, rep.Err, tc.outcome)
			}
		})
	}
}
