package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/child"
	"github.com/ginstream/ginstream/loadtest/internal/cli"
)

// clientFlag, first among the arguments, makes the program the client
// child of a measurement (see runClient).
const clientFlag = "-client"

// Sizes of the client's reads.
const (
	// readBuffer is the size of the client's reads from the response
	// body and of its connection's buffer: the client reads as fast as
	// it can.
	readBuffer = 64 << 10
	// maxDials is the number of connections the client sets up at once:
	// more would overflow the server's listen queue and cost a SYN
	// retransmission (a second) to the unlucky ones.
	maxDials = 64
	// maxErrors is the number of failure messages a result keeps.
	maxErrors = 5
)

// isClient reports whether args ask for the client child.
func isClient(args []string) bool { return len(args) > 0 && args[0] == clientFlag }

// clientResult is what the client child reports, as JSON on its stdout.
type clientResult struct {
	OK      int            `json:"ok"`      // responses 200 read to their end
	Hashes  map[string]int `json:"hashes"`  // SHA-256 (hex) of those bodies → how many
	Bytes   int64          `json:"bytes"`   // in those bodies
	Lines   int64          `json:"lines"`   // newlines in those bodies
	Elapsed time.Duration  `json:"elapsed"` // from the first byte received to the last
	Failed  int            `json:"failed"`  // responses not 200, or not read to their end
	Errors  []string       `json:"errors"`  // the first few failures
}

// runClient is the client child: it GETs -url on -conns connections at
// once, reads every body to its end computing its SHA-256, and writes a
// clientResult to stdout. Each request has a connection of its own.
func runClient(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sidebyside "+clientFlag, flag.ContinueOnError)
	target := fs.String("url", "", "the `URL` to get")
	conns := fs.Int("conns", 1, "`number` of requests at once")
	timeout := fs.Duration("timeout", 5*time.Minute, "the longest the client may take")
	h2c := fs.Bool("h2c", false, "speak HTTP/2 without TLS (prior knowledge); a response over another protocol fails")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", cli.ErrUsage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var first firstByte
	transport := &http.Transport{
		Proxy:              nil, // loopback, never through a proxy
		DisableCompression: true,
		DisableKeepAlives:  true,
		ReadBufferSize:     readBuffer,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &timedConn{Conn: c, first: &first}, nil
		},
	}
	proto := 1
	if *h2c {
		proto = 2
		transport.Protocols = new(http.Protocols)
		transport.Protocols.SetUnencryptedHTTP2(true)
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	res := clientResult{Hashes: make(map[string]int)}
	var (
		mu   sync.Mutex
		last time.Time
		wg   sync.WaitGroup
	)
	dials := make(chan struct{}, maxDials)
	for range *conns {
		wg.Go(func() {
			b, err := get(ctx, client, *target, proto, dials)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed++
				if len(res.Errors) < maxErrors {
					res.Errors = append(res.Errors, err.Error())
				}
				return
			}
			res.OK++
			res.Hashes[b.hash]++
			res.Bytes += b.bytes
			res.Lines += b.lines
			if b.end.After(last) {
				last = b.end
			}
		})
	}
	wg.Wait()
	if start := first.get(); !start.IsZero() && last.After(start) {
		res.Elapsed = last.Sub(start)
	}
	return json.NewEncoder(stdout).Encode(res)
}

// body is what a client learned of one response body.
type body struct {
	hash         string // SHA-256, hex
	bytes, lines int64
	end          time.Time // when its last byte was read
}

// get GETs target, holding a place in dials while it connects and waits
// for the response's head, and reads the body to its end.
func get(ctx context.Context, client *http.Client, target string, proto int, dials chan struct{}) (body, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return body{}, err
	}
	dials <- struct{}{}
	resp, err := client.Do(req)
	<-dials
	if err != nil {
		return body{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return body{}, fmt.Errorf("%s: %q", resp.Status, msg)
	}
	if resp.ProtoMajor != proto {
		return body{}, fmt.Errorf("answered over %s, not HTTP/%d", resp.Proto, proto)
	}
	h := sha256.New()
	var b body
	buf := make([]byte, readBuffer)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			b.bytes += int64(n)
			b.lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		}
		if errors.Is(err, io.EOF) {
			b.end = time.Now()
			break
		}
		if err != nil {
			return body{}, fmt.Errorf("after %d bytes: %w", b.bytes, err)
		}
	}
	b.hash = hex.EncodeToString(h.Sum(nil))
	return b, nil
}

// firstByte is when the first byte arrived on any of the client's
// connections.
type firstByte struct{ at atomic.Pointer[time.Time] }

// mark records now if nothing arrived before.
func (f *firstByte) mark() {
	if f.at.Load() == nil {
		now := time.Now()
		f.at.CompareAndSwap(nil, &now)
	}
}

// get returns when the first byte arrived, or the zero time.
func (f *firstByte) get() time.Time {
	if t := f.at.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// timedConn is a connection that marks the arrival of the client's first
// byte.
type timedConn struct {
	net.Conn
	first *firstByte
}

func (c *timedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.first.mark()
	}
	return n, err
}

// clientRun is a client child's run, seen from this process.
type clientRun struct {
	result clientResult
	cpu    time.Duration // the child's CPU time, user and system
}

// startClient starts the client child against target with conns
// requests at once, over HTTP/2 without TLS if h2c is set; wait waits for
// it and returns its result.
func startClient(ctx context.Context, target string, conns int, timeout time.Duration, h2c bool) (wait func() (clientRun, error), err error) {
	var run clientRun
	args := []string{clientFlag, "-url", target, "-conns", strconv.Itoa(conns), "-timeout", timeout.String()}
	if h2c {
		args = append(args, "-h2c")
	}
	waitChild, err := startChild(ctx, args, &run.result)
	if err != nil {
		return nil, err
	}
	return func() (clientRun, error) {
		var err error
		run.cpu, err = waitChild()
		return run, err
	}, nil
}

// startChild starts this program with args, as a child whose stdout is
// one JSON value; wait waits for it, decodes that value into result and
// returns the child's CPU time, user and system.
func startChild(ctx context.Context, args []string, result any) (wait func() (time.Duration, error), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.SysProcAttr = child.Attr()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() (time.Duration, error) {
		var cpu time.Duration
		err := cmd.Wait()
		if st := cmd.ProcessState; st != nil {
			cpu = st.UserTime() + st.SystemTime()
		}
		if err != nil {
			return cpu, fmt.Errorf("%s: %w\n%s", args[0], err, &stderr)
		}
		if err := json.NewDecoder(bufio.NewReader(&stdout)).Decode(result); err != nil {
			return cpu, fmt.Errorf("%s: reading its result: %w\n%s", args[0], err, &stderr)
		}
		return cpu, nil
	}, nil
}
