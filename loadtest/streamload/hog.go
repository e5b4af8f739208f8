package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The hog scenario: one client address asks for many endless streams at
// once and reads none of them, as in the issue where 300 such sockets took
// every place of -max-streams 300 and every other client got 503. The
// demo's cap per client address (-max-streams-per-client) must hold it to
// its share while normal clients, from addresses of their own, stream
// byte-exact.

// hogAddr is the attacker's address. The normal clients' are loopback(2)
// on: the demo tells clients apart by their connection's remote address.
var hogAddr = loopback(1)

// hogStreamDuration is the demo's -max-stream-duration in the hog
// scenario: its default, which the attacker's numbers stream fills.
const hogStreamDuration = time.Hour

// hogPaths are what the attacker asks for, in turn: streams that last as
// long as the demo lets them, and so quiet that a client reading none of
// them never fills its socket buffers, so that the stall timeout never
// ends them. Only the cap does.
var hogPaths = [...]string{
	// One number a minute for -max-stream-duration: the issue's
	// count=1000000000&interval=60000, cut to what the demo accepts.
	"/stream/numbers?count=" + strconv.Itoa(int(hogStreamDuration/time.Minute)+1) + "&interval=60000",
	// A tick a second, and an order every third, until the client leaves.
	"/events",
}

// hogKinds are the streams each normal client keeps running at once, one
// of each kind, each kind one stream after the other.
var hogKinds = [...]streamKind{kindNumbers, kindExport, kindLogs}

// hogClientPeak is how many streams a normal client may hold at once: one
// of each of hogKinds, and a log stream it has left and opened again
// before the demo noticed.
const hogClientPeak = len(hogKinds) + 1

// maxHogClients is how many normal clients there can be: one for each of
// the addresses 127.0.0.2 to 127.0.0.254.
const maxHogClients = 253

// runHog runs the hog scenario.
func runHog(ctx context.Context, cfg config, bin, tmp string, stderr io.Writer) (*result, error) {
	k, c, h, n := cfg.hogMaxStreams, cfg.hogPerClient, cfg.hogStreams, cfg.hogClients
	res := &result{title: fmt.Sprintf("hog: -max-streams %d, -max-streams-per-client %d; %d streams at once from %s, %d normal clients from %s to %s, %v hold",
		k, c, h, hogAddr, n, loopback(2), loopback(n+1), cfg.hold)}

	// The control: without the cap, the same attack takes every place.
	ctl, normal, err := hogControl(ctx, cfg, bin, tmp, stderr)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	res.check("control, no cap per client: attacker's streams admitted; then a normal client's",
		ctl.status[http.StatusOK] == k && normal == http.StatusServiceUnavailable,
		fmt.Sprintf("%d; %d", ctl.status[http.StatusOK], normal), fmt.Sprintf("%d (every place); 503", k))
	res.note("control: ", ctl.tally.messages())
	res.figure("control (-max-streams-per-client 0): the attacker's %d streams got %v; a normal client's stream then %d",
		h, ctl.status, normal)

	d, err := startDemo(ctx, bin, tmp, stderr,
		"-max-streams", strconv.Itoa(k),
		"-max-streams-per-client", strconv.Itoa(c),
		"-max-stream-duration", hogStreamDuration.String(),
		"-stall-timeout", cfg.stallTimeout.String(),
		"-users", strconv.Itoa(cfg.users),
		"-log-interval", logInterval.String(),
		"-log-max-bytes", strconv.Itoa(logMaxBytes),
	)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	s := newStreamsRun(cfg, d, n*len(hogKinds))
	if err := s.prepare(ctx, res); err != nil {
		return nil, err
	}
	base, err := baseline(ctx, d)
	if err != nil {
		return nil, err
	}
	smp := startSampler(ctx, d)
	defer smp.stop()

	// The normal clients, until the hold ends. On an early return, the
	// clients' connections close (cancel comes first), and the clients
	// and the attacker are joined.
	ctx, cancel := context.WithCancel(ctx)
	var clients sync.WaitGroup
	endClients := sync.OnceFunc(func() {
		close(s.stop)
		clients.Wait()
	})
	defer endClients()
	defer cancel()
	for i := range n {
		from := loopback(2 + i)
		for _, kind := range hogKinds {
			clients.Go(func() { s.client(ctx, from, kind) })
		}
	}
	rampDone := false
	select {
	case <-s.allOpen:
		rampDone = true
	case <-time.After(rampTimeout):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res.check("every normal client streaming (first responses in) before the attack", rampDone,
		ratio(s.opened.Load(), int64(n*len(hogKinds))), "all")

	// The attack, held for the hold, then let go.
	attackStart := time.Now()
	a := startHog(ctx, d.addr, h, cfg.dials, attackStart.Add(cfg.hold+2*time.Minute))
	defer func() {
		cancel()
		a.letGo()
	}()
	if err := a.waitHeads(ctx, time.Minute); err != nil {
		return nil, err
	}
	attackIn := time.Now()
	startedBefore := s.started()
	if err := sleepCtx(ctx, cfg.hold); err != nil {
		return nil, err
	}
	holdEnd := time.Now()
	during := s.started() - startedBefore
	endClients()
	a.letGo()
	letGo := time.Now()
	active, err := waitActive(ctx, d, 30*time.Second)
	if err != nil {
		return nil, err
	}
	slotsBack := time.Since(letGo)
	m, err := d.scrape(ctx)
	if err != nil {
		return nil, err
	}
	samples := smp.stop()
	p, _ := peak(samples, attackIn, holdEnd)

	// The attacker: its share, and 429 for the rest.
	refused := h - c
	res.check("attacker's streams admitted: its share", a.status[http.StatusOK] == c,
		ratio(int64(a.status[http.StatusOK]), int64(h)), strconv.Itoa(c))
	res.check("attacker's other streams answered 429", a.status[http.StatusTooManyRequests] == refused && len(a.status) == 2,
		fmt.Sprint(a.status), fmt.Sprintf("map[200:%d 429:%d]", c, refused))
	res.check("429s with Retry-After (whole seconds ≥ 1) and a message", a.retryAfterOK == refused && a.messageOK == refused,
		fmt.Sprintf("%d, %d", a.retryAfterOK, a.messageOK), fmt.Sprintf("%d, %d", refused, refused))
	res.check("attacker's admitted streams open until it let go (not ended by the stall timeout)", a.heldOpen == c,
		ratio(int64(a.heldOpen), int64(c)), fmt.Sprintf("%d (held %v, stall timeout %v)", c, cfg.hold, cfg.stallTimeout))
	res.note("attacker: ", a.tally.messages())
	rejected := m.sum("ginstream_streams_total", `outcome="rejected"`)
	res.check("rejected outcome in /metrics", rejected == float64(refused), strconv.FormatFloat(rejected, 'f', 0, 64), strconv.Itoa(refused))
	ended, endedRejected := len(d.log.endedWith("")), len(d.log.endedWith("rejected"))
	res.check("streams the demo logged as ended early: rejected, and others", endedRejected == refused && ended == endedRejected,
		fmt.Sprintf("%d, %d", endedRejected, ended-endedRejected), fmt.Sprintf("%d, 0", refused))
	var byRoute []string
	for _, path := range hogPaths {
		route, _, _ := strings.Cut(path, "?")
		byRoute = append(byRoute, fmt.Sprintf("%s %.0f", route, m.sum("ginstream_streams_total", `outcome="rejected"`, `route="`+route+`"`)))
	}
	res.figure("attack answered %s after it began; Retry-After: %s; rejected in /metrics by route: %s",
		secs(attackIn.Sub(attackStart)), a.retryAfter, strings.Join(byRoute, ", "))

	// The normal clients: every stream byte-exact, none turned away.
	var total, ok, turnedAway int64
	for _, kind := range hogKinds {
		t := &s.tallies[kind]
		total += t.started.Load()
		ok += t.ok.Load()
		turnedAway += t.turnedAway.Load()
		res.note(kindNames[kind]+": ", t.messages())
		res.figure("%-8s streams %5d, byte-exact %5d, failed %d (turned away: %d)", kindNames[kind],
			t.started.Load(), t.ok.Load(), t.failed.Load(), t.turnedAway.Load())
	}
	loops := int64(n * len(hogKinds))
	res.check("normal streams byte-exact; of them started during the attack", ok == total && during >= loops,
		fmt.Sprintf("%s; %d", ratio(ok, total), during), fmt.Sprintf("all; at least %d (one per client and kind)", loops))
	res.check("normal streams answered 503 or 429", turnedAway == 0, strconv.FormatInt(turnedAway, 10), "0")
	res.figure("during the attack: at most %d active streams of %d, %d demo goroutines, RSS %s",
		p.active, k, p.goroutines, mib(p.rss))

	// Let go: every place comes back, and the attacker's address gets its
	// share again.
	res.check("active streams once the attacker closed its connections", active == 0,
		fmt.Sprintf("%.0f (after %s)", active, secs(slotsBack)), "0")
	again := openStreams(ctx, hogAddr, d.addr, fmt.Sprintf("/stream/numbers?count=%d&interval=%d", recoveryCount, recoveryInterval),
		numbersBody(recoveryCount), c, cfg.dials)
	if err := again.waitHeaders(ctx, time.Minute); err != nil {
		return nil, err
	}
	again.wait()
	res.check("after: the attacker's address admitted its share at once, byte-exact",
		again.status[http.StatusOK] == c && again.tally.ok.Load() == int64(c),
		fmt.Sprintf("%v, %s", again.status, ratio(again.tally.ok.Load(), int64(c))), fmt.Sprintf("map[200:%d], all", c))
	res.note("after: ", again.tally.messages())
	after, waited, err := waitGoroutines(ctx, d, base.goroutines+goroutineSlack, 30*time.Second)
	if err != nil {
		return nil, err
	}
	res.check("demo goroutines after the attack", after <= base.goroutines+goroutineSlack,
		fmt.Sprintf("%d (after %s)", after, secs(waited)), fmt.Sprintf("≤ %d (baseline %d + %d)", base.goroutines+goroutineSlack, base.goroutines, goroutineSlack))
	checkDemoLog(res, d)
	res.figure("every place back %s after the attacker's last connection closed", secs(slotsBack))
	return res, nil
}

// hogControl runs the attack against a demo without the cap per client,
// and then one normal client's stream: it returns the attack, let go, and
// the normal stream's status.
func hogControl(ctx context.Context, cfg config, bin, tmp string, stderr io.Writer) (*hogAttack, int, error) {
	d, err := startDemo(ctx, bin, tmp, stderr,
		"-max-streams", strconv.Itoa(cfg.hogMaxStreams),
		"-max-streams-per-client", "0",
		"-max-stream-duration", hogStreamDuration.String(),
		"-users", "10",
	)
	if err != nil {
		return nil, 0, err
	}
	defer d.stop()
	ctx, cancel := context.WithCancel(ctx)
	a := startHog(ctx, d.addr, cfg.hogStreams, cfg.dials, time.Now().Add(2*time.Minute))
	defer func() {
		cancel()
		a.letGo()
	}()
	if err := a.waitHeads(ctx, time.Minute); err != nil {
		return nil, 0, err
	}
	path := fmt.Sprintf("/stream/numbers?count=%d&interval=0", recoveryCount)
	conn, resp, err := getFresh(ctx, nil, loopback(2), d.addr, path, time.Now().Add(time.Minute))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	_, _ = conn.readAll(resp, int64(len(numbersBody(recoveryCount))))
	conn.close()
	return a, resp.StatusCode, nil
}

// hogAttack is the attacker: streams asked for at once from hogAddr, each
// reading its response's head and then nothing, the admitted ones held
// until letGo.
type hogAttack struct {
	clients sync.WaitGroup // the attacker's streams
	heads   sync.WaitGroup // done as each response's head arrives (or fails)
	release chan struct{}  // closed by letGo, once
	closing sync.Once
	tally   tally // failures: dial errors, statuses other than 200, 429 and 503

	mu           sync.Mutex
	status       map[int]int // responses by status
	retryAfter   string      // a Retry-After header seen on a refusal
	retryAfterOK int         // refusals with a Retry-After of whole seconds ≥ 1
	messageOK    int         // refusals whose body says why
	heldOpen     int         // admitted streams still open, not ended by the server, when let go
}

// startHog starts the attacker of n streams against addr, at most dials
// connecting at once, each connection open until deadline at the latest.
func startHog(ctx context.Context, addr string, n, dials int, deadline time.Time) *hogAttack {
	a := &hogAttack{status: make(map[int]int), release: make(chan struct{})}
	sem := make(chan struct{}, dials)
	a.heads.Add(n)
	for i := range n {
		path := hogPaths[i%len(hogPaths)]
		a.clients.Go(func() {
			a.tally.started.Add(1)
			sem <- struct{}{}
			conn, err := dialHTTP(ctx, hogAddr, addr, 0)
			if err != nil {
				<-sem
				a.heads.Done()
				a.tally.fail("dial: %v", err)
				return
			}
			defer conn.close()
			resp, err := conn.get(path, deadline)
			<-sem
			if err != nil {
				a.heads.Done()
				a.tally.fail("%s: %v", path, err)
				return
			}
			a.mu.Lock()
			a.status[resp.StatusCode]++
			a.mu.Unlock()
			a.heads.Done()
			switch resp.StatusCode {
			case http.StatusOK:
				select {
				case <-a.release:
				case <-ctx.Done():
					return
				}
				if stillOpen(conn, time.Second) {
					a.mu.Lock()
					a.heldOpen++
					a.mu.Unlock()
				}
			case http.StatusTooManyRequests, http.StatusServiceUnavailable:
				body, err := conn.readAll(resp, 4096)
				if err != nil {
					a.tally.fail("%s: %s after %d bytes: %v", path, resp.Status, len(body), err)
					return
				}
				ra := resp.Header.Get("Retry-After")
				a.mu.Lock()
				defer a.mu.Unlock()
				if n, err := strconv.Atoi(ra); err == nil && n >= 1 {
					a.retryAfterOK++
					a.retryAfter = ra
				}
				if strings.Contains(string(body), rejectMessage) {
					a.messageOK++
				}
			default:
				body, _ := conn.readAll(resp, 4096)
				a.tally.fail("%s: %s: %q", path, resp.Status, body)
			}
		})
	}
	return a
}

// waitHeads waits until every stream of the attack has its response's
// head, or failed, at most timeout.
func (a *hogAttack) waitHeads(ctx context.Context, timeout time.Duration) error {
	return waitAll(ctx, &a.heads, timeout)
}

// letGo lets go of the admitted streams, each first checking that the
// server still holds it open, and waits for every stream of the attack to
// end. It may be called more than once.
func (a *hogAttack) letGo() {
	a.closing.Do(func() { close(a.release) })
	a.clients.Wait()
}

// stillOpen reports whether the server still holds conn's response open:
// reading what it has sent, for wait, ends in the deadline rather than an
// end of the connection.
func stillOpen(conn *httpConn, wait time.Duration) bool {
	if err := conn.conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
		return false
	}
	_, err := io.Copy(io.Discard, conn.br)
	return timedOut(err)
}

// waitActive waits until the demo's /metrics count no active stream, at
// most timeout, and returns the last count.
func waitActive(ctx context.Context, d *serverProcess, timeout time.Duration) (float64, error) {
	var active float64
	for deadline := time.Now().Add(timeout); ; {
		m, err := d.scrape(ctx)
		if err != nil {
			return 0, err
		}
		if active = m.sum("ginstream_active_streams"); active == 0 || time.Now().After(deadline) {
			return active, nil
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// started returns the streams the run's clients have started.
func (s *streamsRun) started() int64 {
	var n int64
	for i := range s.tallies {
		n += s.tallies[i].started.Load()
	}
	return n
}
