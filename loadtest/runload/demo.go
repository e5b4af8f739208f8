package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/child"
	"github.com/ginstream/ginstream/loadtest/internal/librarybuild"
)

// startTimeout bounds the wait for the demo to say where it listens.
const startTimeout = 2 * time.Minute

// demo is the demo's binary and the directory its data directories go in.
type demo struct {
	bin string
	tmp string
}

// buildDemo builds the demo into tmp, in the library's module, as go
// build ./cmd/demo there would.
func buildDemo(ctx context.Context, tmp string) (demo, error) {
	bin, err := librarybuild.Build(ctx, filepath.Join(tmp, "demo"), "./cmd/demo")
	return demo{bin: bin, tmp: tmp}, err
}

// start starts the demo fresh, with an empty data directory (SQLite, no
// users) and child.DemoArgs's flags, then extra. stop stops it and
// removes its data directory.
func (d demo) start(ctx context.Context, extra ...string) (srv *child.Server, stop func() error, err error) {
	data, err := os.MkdirTemp(d.tmp, "demo-data-")
	if err != nil {
		return nil, nil, err
	}
	args := child.DemoArgs(data, append([]string{"-users", "0"}, extra...)...)
	srv, err = child.Start(ctx, "demo", d.bin, args, child.DemoReady, startTimeout)
	if err != nil {
		os.RemoveAll(data)
		return nil, nil, err
	}
	return srv, func() error { return errors.Join(srv.Stop(), os.RemoveAll(data)) }, nil
}

// startRun starts a count run of the numbers 1 to n, interval apart, on
// the demo at addr, and returns its path: /runs/{id}.
func startRun(ctx context.Context, addr string, n int, interval time.Duration) (string, error) {
	q := url.Values{"kind": {"count"}, "n": {strconv.Itoa(n)}, "interval": {strconv.FormatInt(interval.Milliseconds(), 10)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/runs?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	req.Close = true // no idle connection left behind
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("starting a run: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusCreated || loc == "" {
		return "", fmt.Errorf("starting a run: %s, Location %q: %s", resp.Status, loc, body)
	}
	return loc, nil
}
