package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The streams of the admission scenario.
const (
	// heldCount and heldInterval make the streams that fill the limit last
	// 8 s: long enough for the streams beyond it to be turned away while
	// they run.
	heldCount, heldInterval = 40, 200
	// recoveryCount and recoveryInterval make the streams after the load
	// last 1 s, so that they run at once.
	recoveryCount, recoveryInterval = 10, 100
	// rejectMessage is in the body of a stream turned away.
	rejectMessage = "too many streams"
)

// runAdmission runs the admission scenario.
func runAdmission(ctx context.Context, cfg config, bin, tmp string, stderr io.Writer) (*result, error) {
	k, x := cfg.maxStreams, cfg.over
	res := &result{title: fmt.Sprintf("admission: -max-streams %d, %d streams held, %d more", k, k, x)}
	d, err := startDemo(ctx, bin, tmp, stderr, "-max-streams", strconv.Itoa(k), "-users", "10")
	if err != nil {
		return nil, err
	}
	defer d.stop()
	// On an early return, the clients' connections close and the clients
	// are joined.
	ctx, cancel := context.WithCancel(ctx)
	var sets []*streamSet
	defer func() {
		cancel()
		for _, s := range sets {
			s.wait()
		}
	}()
	open := func(path string, want []byte, n int) *streamSet {
		s := openStreams(ctx, nil, d.addr, path, want, n, cfg.dials)
		sets = append(sets, s)
		return s
	}
	heldPath := fmt.Sprintf("/stream/numbers?count=%d&interval=%d", heldCount, heldInterval)
	start := time.Now()

	// Fill the limit: k streams, each counted once its headers are in.
	held := open(heldPath, numbersBody(heldCount), k)
	if err := held.waitHeaders(ctx, time.Minute); err != nil {
		return nil, err
	}
	full := time.Now()
	// Then x more, at once.
	over := open(heldPath, numbersBody(heldCount), x)
	if err := over.waitHeaders(ctx, time.Minute); err != nil {
		return nil, err
	}
	overAnswered := time.Now()
	over.wait()
	held.wait()
	m, err := d.scrape(ctx)
	if err != nil {
		return nil, err
	}

	res.check("streams admitted while below the limit", held.status[http.StatusOK] == k,
		ratio(int64(held.status[http.StatusOK]), int64(k)), "all, 200")
	res.check("admitted streams complete, byte-exact", held.tally.ok.Load() == int64(k),
		ratio(held.tally.ok.Load(), int64(k)), "all")
	res.note("held: ", held.tally.messages())
	res.check("streams beyond the limit answered 503", over.status[http.StatusServiceUnavailable] == x && len(over.status) == 1,
		fmt.Sprint(over.status), fmt.Sprintf("map[503:%d]", x))
	res.check("503s with Retry-After (whole seconds ≥ 1) and a message", over.retryAfterOK == x && over.messageOK == x,
		fmt.Sprintf("%d, %d", over.retryAfterOK, over.messageOK), fmt.Sprintf("%d, %d", x, x))
	res.note("over: ", over.tally.messages())
	firstEnd := held.firstEnd()
	res.check("503s answered while the held streams ran", overAnswered.Before(firstEnd),
		fmt.Sprintf("last 503 at %s, first held stream ended at %s", secs(overAnswered.Sub(start)), secs(firstEnd.Sub(start))), "before")
	rejected := m.sum("ginstream_streams_total", `outcome="rejected"`)
	res.check("rejected outcome in /metrics", rejected == float64(x), strconv.FormatFloat(rejected, 'f', 0, 64), strconv.Itoa(x))
	res.figure("limit full after %s; Retry-After: %s", secs(full.Sub(start)), over.retryAfter)

	// Recovery: once the held streams have released their places, k new
	// streams at once are all admitted.
	active, err := waitActive(ctx, d, 30*time.Second)
	if err != nil {
		return nil, err
	}
	res.check("active streams once the held ones ended", active == 0, strconv.FormatFloat(active, 'f', 0, 64), "0")
	recovered := time.Now()
	again := open(fmt.Sprintf("/stream/numbers?count=%d&interval=%d", recoveryCount, recoveryInterval),
		numbersBody(recoveryCount), k)
	if err := again.waitHeaders(ctx, time.Minute); err != nil {
		return nil, err
	}
	again.wait()
	res.check("after the load: streams admitted at once", again.status[http.StatusOK] == k,
		fmt.Sprint(again.status), fmt.Sprintf("map[200:%d]", k))
	res.check("after the load: streams complete, byte-exact", again.tally.ok.Load() == int64(k),
		ratio(again.tally.ok.Load(), int64(k)), "all")
	res.note("after: ", again.tally.messages())
	res.figure("recovery: %d streams admitted and completed %s after the held streams released the limit",
		again.status[http.StatusOK], secs(time.Since(recovered)))
	checkDemoLog(res, d)
	return res, nil
}

// streamSet is a set of clients each requesting one numbers stream at
// once, on a connection of its own, and reading it to its end.
type streamSet struct {
	headers sync.WaitGroup // done as each response's head arrives (or fails)
	done    sync.WaitGroup // done as each client ends
	tally   tally

	mu           sync.Mutex
	status       map[int]int // responses by status
	retryAfter   string      // a Retry-After header seen
	retryAfterOK int         // 503s with a Retry-After of whole seconds ≥ 1
	messageOK    int         // 503s whose body says why
	ends         []time.Time // when each 200 stream ended
}

// openStreams starts n clients of path, whose body must be want,
// connecting from the address from (see dialHTTP), at most dials at once.
func openStreams(ctx context.Context, from net.IP, addr, path string, want []byte, n, dials int) *streamSet {
	s := &streamSet{status: make(map[int]int)}
	sem := make(chan struct{}, dials)
	s.headers.Add(n)
	for range n {
		s.done.Go(func() {
			s.tally.started.Add(1)
			sem <- struct{}{}
			conn, resp, err := getFresh(ctx, nil, from, addr, path, time.Now().Add(time.Minute))
			<-sem
			if err != nil {
				s.headers.Done()
				s.tally.fail("%s: %v", path, err)
				return
			}
			defer conn.close()
			s.mu.Lock()
			s.status[resp.StatusCode]++
			s.mu.Unlock()
			s.headers.Done()
			body, err := conn.readAll(resp, int64(len(want)))
			s.mu.Lock()
			defer s.mu.Unlock()
			switch {
			case err != nil:
				s.tally.fail("%s: %s after %d bytes: %v", path, resp.Status, len(body), err)
			case resp.StatusCode == http.StatusServiceUnavailable:
				ra := resp.Header.Get("Retry-After")
				if n, err := strconv.Atoi(ra); err == nil && n >= 1 {
					s.retryAfterOK++
					s.retryAfter = ra
				}
				if strings.Contains(string(body), rejectMessage) {
					s.messageOK++
				}
			case resp.StatusCode != http.StatusOK:
				s.tally.fail("%s: %s: %q", path, resp.Status, body)
			case string(body) != string(want):
				s.tally.wrong("%s: %d bytes, not the %d expected", path, len(body), len(want))
			default:
				s.tally.ok.Add(1)
				s.ends = append(s.ends, time.Now())
			}
		})
	}
	return s
}

// waitHeaders waits until every client has its response's head, or
// failed, at most timeout.
func (s *streamSet) waitHeaders(ctx context.Context, timeout time.Duration) error {
	return waitAll(ctx, &s.headers, timeout)
}

// waitAll waits for wg, at most timeout. On a timeout or the end of ctx,
// a goroutine goes on waiting for wg, until it is done.
func waitAll(ctx context.Context, wg *sync.WaitGroup, timeout time.Duration) error {
	in := make(chan struct{})
	go func() {
		wg.Wait()
		close(in)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-in:
		return nil
	case <-t.C:
		return fmt.Errorf("responses not in after %v", timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait waits for every client to end.
func (s *streamSet) wait() { s.done.Wait() }

// firstEnd returns when the first stream ended, or a time far away if
// none did.
func (s *streamSet) firstEnd() time.Time {
	first := time.Now().Add(time.Hour)
	for _, t := range s.ends {
		if t.Before(first) {
			first = t
		}
	}
	return first
}
