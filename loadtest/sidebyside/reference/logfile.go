//go:build ignore

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// logBacklog is the number of lines a new log file starts with, as the
// demo's log (cmd/demo's logAppender), so that a follower sees some at
// once.
const logBacklog = 20

// logAppender appends made-up lines to the log file that /stream/logs
// follows, as the demo does to its own, so that the streams have something
// to follow. Each line has a number and a time, so that no two are alike.
type logAppender struct {
	f *os.File
	n int // lines written
}

// openLog opens the log file for appending, creating it with a backlog of
// lines if it is empty.
func openLog(path string) (*logAppender, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	a := &logAppender{f: f}
	info, err := f.Stat()
	if err == nil && info.Size() == 0 {
		for range logBacklog {
			if err = a.write(); err != nil {
				break
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

// run appends a line every interval until ctx ends, then closes the file.
// A failed write is reported on stderr.
func (a *logAppender) run(ctx context.Context, interval time.Duration) {
	defer a.f.Close()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.write(); err != nil {
			fmt.Fprintln(os.Stderr, "reference: log:", err)
		}
	}
}

// write appends the next line with one write call, so that a follower
// never sees half a line for long.
func (a *logAppender) write() error {
	a.n++
	b := time.Now().UTC().AppendFormat(make([]byte, 0, 128), "2006-01-02T15:04:05.000Z INFO  GET /api/orders/")
	b = strconv.AppendInt(b, int64(1000+a.n*37%9000), 10)
	b = append(b, " status=200 duration="...)
	b = strconv.AppendInt(b, int64(3+a.n*13%240), 10)
	b = append(b, "ms line="...)
	b = strconv.AppendInt(b, int64(a.n), 10)
	_, err := a.f.Write(append(b, '\n'))
	return err
}
