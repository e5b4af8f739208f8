package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The kinds of stream open at shutdown.
const (
	shutNumbers   = iota // /stream/numbers, endless and slow
	shutLogs             // /stream/logs as text
	shutEvents           // /events as Server-Sent Events
	shutLogEvents        // /stream/logs as Server-Sent Events
	shutKinds
)

var shutNames = [shutKinds]string{"numbers", "log text", "events", "log events"}

// shutdownPaths are the request paths of the kinds, and whether they are
// event streams. The numbers stream runs an hour at ten numbers a second,
// as long as the demo's -max-stream-duration (1 h by default) lets it: a
// longer one is answered 400.
var shutdownPaths = [shutKinds]struct {
	path   string
	events bool
}{
	shutNumbers:   {"/stream/numbers?count=36001&interval=100", false},
	shutLogs:      {"/stream/logs?lines=" + strconv.Itoa(tailLinesAsked), false},
	shutEvents:    {"/events", true},
	shutLogEvents: {"/stream/logs", true},
}

// shutdownClient is what one client saw.
type shutdownClient struct {
	kind      int
	opened    bool          // the first bytes of the body arrived
	endedIn   time.Duration // from SIGTERM to the end of the body
	how       string        // "clean end", "cut" or an error
	lastEvent string        // the last event's name, for event streams
	shutdowns int           // "shutdown" events received
	intact    bool          // what arrived of a text stream is right
	problem   string        // why it is not
}

// runShutdown runs the shutdown scenario.
func runShutdown(ctx context.Context, cfg config, bin, tmp string, stderr io.Writer) (*result, error) {
	n := cfg.shutdownStreams
	res := &result{title: fmt.Sprintf("shutdown: SIGTERM with %d streams open, -shutdown-timeout %v", n, cfg.shutdownTimeout)}
	d, err := startDemo(ctx, bin, tmp, stderr, "-shutdown-timeout", cfg.shutdownTimeout.String(), "-users", "10", "-max-streams", "0")
	if err != nil {
		return nil, err
	}
	defer d.stop()
	logs := &logIndex{path: d.log.file}
	clientsCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	clients := make([]shutdownClient, n)
	var (
		wg       sync.WaitGroup
		opened   sync.WaitGroup
		sigterm  atomic.Int64 // when SIGTERM was sent, in Unix nanoseconds
		dials    = make(chan struct{}, cfg.dials)
		deadline = time.Now().Add(5*time.Minute + cfg.shutdownTimeout)
	)
	opened.Add(n)
	for i := range clients {
		c := &clients[i]
		c.kind = i % shutKinds
		wg.Go(func() {
			dials <- struct{}{}
			c.run(clientsCtx, d.addr, deadline, func() {
				<-dials
				opened.Done()
			}, &sigterm, logs)
		})
	}
	allOpen := make(chan struct{})
	go func() {
		opened.Wait()
		close(allOpen)
	}()
	select {
	case <-allOpen:
	case <-time.After(2 * time.Minute):
		cancel()
		wg.Wait()
		return nil, errors.New("the streams did not all open within 2 minutes")
	}
	m, err := d.scrape(ctx)
	if err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	active := m.sum("ginstream_active_streams")

	t0 := time.Now()
	sigterm.Store(t0.UnixNano())
	if err := d.terminate(); err != nil {
		cancel()
		wg.Wait()
		return nil, err
	}
	exited := d.wait(cfg.shutdownTimeout + demoStopTimeout)
	exitIn := d.exitAt.Sub(t0)
	wg.Wait()

	var (
		open, intact, cut, clean, shutdownEvents int
		byKind                                   [shutKinds]int
		ends                                     durations
		hows                                     = make(map[string]int)
		problems                                 []string
	)
	for _, c := range clients {
		byKind[c.kind]++
		if c.opened {
			open++
		}
		ends = append(ends, c.endedIn)
		hows[shutNames[c.kind]+": "+c.how]++
		if shutdownPaths[c.kind].events {
			if c.lastEvent == "shutdown" && c.shutdowns == 1 {
				shutdownEvents++
			}
			continue
		}
		if c.how == "cut" {
			cut++
		}
		if c.how == "clean end" {
			clean++
		}
		if c.intact {
			intact++
		} else if len(problems) < maxErrs {
			problems = append(problems, shutNames[c.kind]+": "+c.problem)
		}
	}
	events := byKind[shutEvents] + byKind[shutLogEvents]
	text := n - events
	res.check("streams open at SIGTERM", open == n, ratio(int64(open), int64(n)), "all")
	res.check("every stream ended within the grace period", ends.max() <= cfg.shutdownTimeout,
		"max "+secs(ends.max()), "≤ "+cfg.shutdownTimeout.String())
	res.check("event streams ended by a shutdown event", shutdownEvents == events, ratio(int64(shutdownEvents), int64(events)), "all")
	res.check("other streams ended as a cut transfer", cut == text, ratio(int64(cut), int64(text)), "all (a clean end would look complete)")
	res.check("what the other streams received is intact", intact == text, ratio(int64(intact), int64(text)), "all")
	res.note("", problems)
	var exitCode = -1
	var ee *exec.ExitError
	switch {
	case !exited:
	case d.exitErr == nil:
		exitCode = 0
	case errors.As(d.exitErr, &ee):
		exitCode = ee.ExitCode()
	}
	res.check("demo exit status", exited && exitCode == 0, fmt.Sprint(exitCode), "0")
	res.check("demo exited within the timeout after SIGTERM", exited && exitIn <= cfg.shutdownTimeout,
		secs(exitIn), "≤ "+cfg.shutdownTimeout.String())
	checkDemoLog(res, d)
	res.figure("active streams in /metrics at SIGTERM: %.0f", active)
	res.figure("streams ended after SIGTERM (min / median / max): %s", ends.summary())
	var kinds []string
	for how, k := range hows {
		kinds = append(kinds, fmt.Sprintf("%s %d", how, k))
	}
	slices.Sort(kinds)
	res.figure("how they ended: %s", strings.Join(kinds, "; "))
	return res, nil
}

// run opens the client's stream, calls opened once (when its first bytes
// have arrived, or it failed), and reads it to its end, noting when that was
// after sigterm (Unix nanoseconds; zero while not sent) and how it ended.
func (c *shutdownClient) run(ctx context.Context, addr string, deadline time.Time, opened func(), sigterm *atomic.Int64, logs *logIndex) {
	var once sync.Once
	open := func() { once.Do(opened) }
	defer open()
	p := shutdownPaths[c.kind]
	var headers []string
	if p.events {
		headers = append(headers, "Accept: text/event-stream")
	}
	conn, resp, err := getFresh(ctx, nil, nil, addr, p.path, deadline, headers...)
	if err != nil {
		c.how = err.Error()
		return
	}
	defer conn.close()
	if resp.StatusCode != http.StatusOK {
		c.how = resp.Status
		return
	}
	br := bufio.NewReader(resp.Body)
	var text bytes.Buffer // what a text stream received
	var event string      // the name of the event being read
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			c.opened = true
			open()
		}
		if p.events {
			if bytes.HasPrefix(line, []byte("event:")) {
				event = strings.TrimSpace(string(line[len("event:"):]))
			}
			if len(bytes.TrimSpace(line)) == 0 && len(line) > 0 {
				if event != "" {
					c.lastEvent = event
					if event == "shutdown" {
						c.shutdowns++
					}
				}
				event = ""
			}
		} else {
			text.Write(line)
		}
		if err == nil {
			continue
		}
		if t := sigterm.Load(); t != 0 {
			c.endedIn = time.Since(time.Unix(0, t))
		} else {
			c.endedIn = -1 // before SIGTERM
		}
		switch {
		case err == io.EOF:
			c.how = "clean end"
		case cutTransfer(err):
			c.how = "cut"
		default:
			c.how = err.Error()
		}
		break
	}
	if p.events {
		return
	}
	// Whole lines only: the cut may fall in a line.
	got := text.Bytes()
	got = got[:bytes.LastIndexByte(got, '\n')+1]
	switch {
	case c.kind == shutNumbers && !isNumbersPrefix(got):
		c.problem = fmt.Sprintf("%d bytes that are not the numbers from 1", len(got))
	case c.kind == shutNumbers && len(got) == 0:
		c.problem = "no number"
	case c.kind == shutLogs:
		if err := logs.verify(got); err != nil {
			c.problem = err.Error()
			break
		}
		c.intact = true
	default:
		c.intact = true
	}
}
