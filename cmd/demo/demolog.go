package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"
)

// logAppender appends made-up access-log lines to a file, so that
// /stream/logs has something to follow, and rotates the file the way
// logrotate does (rename it to path.1, start a new one) when it grows past
// maxBytes, so that following survives rotation.
type logAppender struct {
	path     string
	interval time.Duration
	maxBytes int64
	logger   *slog.Logger

	f    *os.File
	size int64
	n    int // lines written since the start
}

// backlog is the number of lines a new log file starts with, so that a
// follower sees some at once.
const backlog = 20

// run appends a line every interval until ctx ends, opening the log first
// unless start has. Failures are logged and retried at the next line; run
// returns only when ctx ends, with the log closed.
func (a *logAppender) run(ctx context.Context) {
	defer a.close()
	if a.f == nil {
		if err := a.open(); err != nil {
			a.logger.Error("demo log", "err", err)
		}
	}
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.append(); err != nil {
			a.logger.Error("demo log", "err", err)
			a.close() // reopen at the next line
		}
	}
}

// open opens the log for appending, creating it with a backlog of lines if
// it does not exist.
func (a *logAppender) open() error {
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	a.f, a.size = f, fi.Size()
	if a.size == 0 {
		start := time.Now().Add(-backlog * a.interval)
		for i := range backlog {
			if err := a.write(start.Add(time.Duration(i) * a.interval)); err != nil {
				a.close()
				return err
			}
		}
	}
	return nil
}

// append writes the next line, rotating the file first if it is full.
func (a *logAppender) append() error {
	if a.f != nil && a.size >= a.maxBytes {
		a.close()
		if err := os.Rename(a.path, a.path+".1"); err != nil {
			return fmt.Errorf("rotate: %w", err)
		}
	}
	if a.f == nil {
		if err := a.open(); err != nil {
			return err
		}
	}
	return a.write(time.Now())
}

// write writes one line with one write call, so that a follower never
// sees half a line for long.
func (a *logAppender) write(t time.Time) error {
	a.n++
	n, err := a.f.Write(logLine(a.n, t))
	a.size += int64(n)
	return err
}

// close closes the file if it is open.
func (a *logAppender) close() {
	if a.f != nil {
		if err := a.f.Close(); err != nil {
			a.logger.Error("demo log", "err", err)
		}
		a.f = nil
	}
}

// Made-up requests for the demo log.
var (
	logMethods = []string{"GET", "GET", "GET", "POST", "GET", "PUT", "GET", "DELETE"}
	logPaths   = []string{"/api/orders/", "/api/users/", "/reports/", "/api/cart/", "/search?q=caf%C3%A9&page="}
)

// logLine returns the nth line of the demo log, stamped t: mostly 200s,
// some 404s, the odd 500, and a user name with non-ASCII letters, commas
// or quotes.
func logLine(n int, t time.Time) []byte {
	level, status := "INFO ", 200
	switch {
	case n%29 == 0:
		level, status = "ERROR", 500
	case n%7 == 0:
		level, status = "WARN ", 404
	}
	b := make([]byte, 0, 160)
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z ")
	b = append(b, level+" "...)
	b = append(b, logMethods[n%len(logMethods)]+" "+logPaths[n%len(logPaths)]...)
	b = strconv.AppendInt(b, int64(1000+n*37%9000), 10)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " duration="...)
	b = strconv.AppendInt(b, int64(3+n*13%240), 10)
	b = append(b, "ms user="...)
	b = strconv.AppendQuote(b, newUser(n).name)
	return append(b, '\n')
}
