package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// dribbleRequest is what a slow-loris client sends, one byte a second: a
// request whose headers never end (after it, the header's value goes on
// with more bytes).
const dribbleRequest = "GET /stream/numbers HTTP/1.1\r\nHost: streamload\r\nX-Slow: "

// probeCount is the count of the numbers streams that normal clients
// request during the slow-loris attack.
const probeCount = 1000

// runSlowloris runs the slow-loris scenario.
func runSlowloris(ctx context.Context, cfg config, bin, tmp string, stderr io.Writer) (*result, error) {
	res := &result{title: fmt.Sprintf("slowloris: %d clients dribbling headers, %d never reading, read-header timeout %v, stall timeout %v",
		cfg.slowloris, cfg.nonReaders, cfg.readHeaderTimeout, cfg.stallTimeout)}
	d, err := startDemo(ctx, bin, tmp, stderr,
		"-read-header-timeout", cfg.readHeaderTimeout.String(),
		"-stall-timeout", cfg.stallTimeout.String(),
		"-users", strconv.Itoa(cfg.users),
		"-max-streams", "0",
	)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	// A first stream of each kind that the probes use, for the baseline.
	var warm tally
	probe(ctx, d.addr, &warm)
	if warm.ok.Load() != 2 {
		return nil, fmt.Errorf("first streams: %v", warm.messages())
	}
	base, err := baseline(ctx, d)
	if err != nil {
		return nil, err
	}
	smp := startSampler(ctx, d)
	start := time.Now()

	var (
		attackers sync.WaitGroup
		dials     = make(chan struct{}, cfg.dials)
		mu        sync.Mutex
		closedIn  durations // how long after connecting each dribbler was closed
		dribble   tally     // dribblers closed by the server
		nonReader tally     // non-readers cut by the server
		drained   atomic.Int64
	)
	for range cfg.slowloris {
		attackers.Go(func() {
			dribble.started.Add(1)
			dials <- struct{}{}
			// From before connecting: the server's clock for the
			// headers starts later, when it accepts the connection.
			start := time.Now()
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", d.addr)
			<-dials
			if err != nil {
				dribble.fail("dial: %v", err)
				return
			}
			defer conn.Close()
			after, err := dribbleUntilClosed(ctx, conn, start, cfg.readHeaderTimeout+30*time.Second)
			if err != nil {
				dribble.fail("%v", err)
				return
			}
			dribble.ok.Add(1)
			mu.Lock()
			closedIn = append(closedIn, after)
			mu.Unlock()
		})
	}
	for range cfg.nonReaders {
		attackers.Go(func() {
			nonReader.started.Add(1)
			dials <- struct{}{}
			stalled(ctx, d.addr, cfg.stallTimeout, time.Now().Add(stallWait(cfg.stallTimeout)+time.Minute), &nonReader, &drained,
				func() { <-dials })
		})
	}
	// Normal clients, one after the other, while the attack lasts.
	attackDone := make(chan struct{})
	var probes tally
	var slowest time.Duration
	var probing sync.WaitGroup
	probing.Go(func() {
		for {
			t0 := time.Now()
			probe(ctx, d.addr, &probes)
			slowest = max(slowest, time.Since(t0))
			select {
			case <-attackDone:
				return
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	attackers.Wait()
	close(attackDone)
	probing.Wait()
	end := time.Now()
	samples := smp.stop()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	after, waited, err := waitGoroutines(ctx, d, base.goroutines+goroutineSlack, 30*time.Second)
	if err != nil {
		return nil, err
	}

	res.check("dribblers closed by the server", dribble.ok.Load() == int64(cfg.slowloris), ratio(dribble.ok.Load(), int64(cfg.slowloris)), "all")
	res.note("dribbler: ", dribble.messages())
	lo, hi := cfg.readHeaderTimeout*9/10, cfg.readHeaderTimeout+10*time.Second
	res.check("dribblers closed after (min / median / max)", len(closedIn) > 0 && closedIn.min() >= lo && closedIn.max() <= hi,
		closedIn.summary(), fmt.Sprintf("%v to %v", lo, hi))
	res.check("non-readers cut by the stall timeout", nonReader.ok.Load() == int64(cfg.nonReaders), ratio(nonReader.ok.Load(), int64(cfg.nonReaders)), "all")
	res.note("non-reader: ", nonReader.messages())
	logged := d.log.endedWith("stalled")
	res.check("streams the demo logged as stalled", len(logged) == cfg.nonReaders, strconv.Itoa(len(logged)), strconv.Itoa(cfg.nonReaders))
	res.check("normal requests during the attack, byte-exact", probes.ok.Load() == probes.started.Load() && probes.ok.Load() >= 2,
		ratio(probes.ok.Load(), probes.started.Load()), "all (at least 2)")
	res.note("normal request: ", probes.messages())
	res.check("demo goroutines after the attack", after <= base.goroutines+goroutineSlack,
		fmt.Sprintf("%d (after %s)", after, secs(waited)), fmt.Sprintf("≤ %d (baseline %d + %d)", base.goroutines+goroutineSlack, base.goroutines, goroutineSlack))
	checkDemoLog(res, d)
	p, _ := peak(samples, start, end)
	res.figure("demo goroutines: %d before, %d at the peak of the attack; RSS %s before, %s at the peak",
		base.goroutines, p.goroutines, mib(base.rss), mib(p.rss))
	res.figure("normal requests: %d (numbers, 1,000 lines, and proxied numbers, 100), the slowest pair took %s",
		probes.started.Load(), secs(slowest))
	res.figure("attack over after %s", secs(end.Sub(start)))
	return res, nil
}

// dribbleUntilClosed sends dribbleRequest, and then more of its last
// header, one byte a second on conn, and returns how long after start it
// took the server to close the connection (or answer; the net/http server
// closes it without an answer). It gives up after limit.
func dribbleUntilClosed(ctx context.Context, conn net.Conn, start time.Time, limit time.Duration) (time.Duration, error) {
	buf := make([]byte, 512)
	for i := 0; time.Since(start) < limit; i++ {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		b := byte('a')
		if i < len(dribbleRequest) {
			b = dribbleRequest[i]
		}
		if _, err := conn.Write([]byte{b}); err != nil {
			return time.Since(start), nil // closed: the write was refused
		}
		if err := conn.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			return 0, err
		}
		n, err := conn.Read(buf)
		switch {
		case n > 0:
			// An answer: the connection is over either way.
			return time.Since(start), nil
		case timedOut(err):
			continue
		case err != nil:
			return time.Since(start), nil // closed
		}
	}
	return 0, fmt.Errorf("still open after %v of dribbling", limit)
}

// probe runs the requests of a normal client: a numbers stream and a
// proxied one, each on a new connection, counting them in t.
func probe(ctx context.Context, addr string, t *tally) {
	for _, r := range []struct {
		path string
		want []byte
	}{
		{"/stream/numbers?count=" + strconv.Itoa(probeCount) + "&interval=0", numbersBody(probeCount)},
		{"/proxy/numbers", numbersBody(proxiedCount)},
	} {
		path, want := r.path, r.want
		t.started.Add(1)
		conn, resp, err := getFresh(ctx, nil, nil, addr, path, time.Now().Add(time.Minute))
		if err != nil {
			t.fail("%s: %v", path, err)
			continue
		}
		body, err := conn.readAll(resp, int64(len(want)))
		conn.close()
		switch {
		case err != nil:
			t.fail("%s: %s after %d bytes: %v", path, resp.Status, len(body), err)
		case resp.StatusCode != http.StatusOK:
			t.fail("%s: %s", path, resp.Status)
		case string(body) != string(want):
			t.wrong("%s: %d bytes, not the %d expected", path, len(body), len(want))
		default:
			t.ok.Add(1)
		}
	}
}
