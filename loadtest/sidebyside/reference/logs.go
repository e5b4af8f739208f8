//go:build ignore

package main

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// Sizes and times of /stream/logs, as the demo's follower has them
// (generator.Follow).
const (
	logBlock = 32 << 10              // one read, forwards or backwards
	logPoll  = 50 * time.Millisecond // how often the end of the file is looked at again
)

// logs writes the last ?lines= lines of the log file (10 if absent), then
// each line appended to it, until the client leaves. A line is written
// once its "\n" is in the file; a line longer than logBlock is written in
// pieces.
func (s *server) logs(w http.ResponseWriter, r *http.Request) {
	if s.logPath == "" {
		http.NotFound(w, r)
		return
	}
	n, err := intParam(r.URL.Query().Get("lines"), 10)
	if err != nil || n < 0 || n > 10_000 {
		http.Error(w, "lines: an integer from 0 to 10000", http.StatusBadRequest)
		return
	}
	f, err := os.Open(s.logPath)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	buf := make([]byte, logBlock)
	off, err := lastLines(f, buf, n)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	bw, sw := s.buffered(w)
	poll := time.NewTicker(logPoll)
	defer poll.Stop()
	for {
		k, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			abort()
		}
		if end := bytes.LastIndexByte(buf[:k], '\n') + 1; end > 0 || k == len(buf) {
			if end == 0 {
				end = k
			}
			if _, err := bw.Write(buf[:end]); err != nil {
				abort()
			}
			off += int64(end)
			continue // read on to the end
		}
		if flush(bw, sw) != nil {
			abort()
		}
		select {
		case <-poll.C:
		case <-r.Context().Done():
			return
		}
	}
}

// lastLines returns the offset of the last n complete lines of f (after
// the n+1-th "\n" from its end, or 0), reading backwards in blocks of
// len(buf).
func lastLines(f *os.File, buf []byte, n int) (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := info.Size()
	// The incomplete last line, if any, is not one of the n.
	need := n + 1
	for pos := end; pos > 0; {
		k := min(int64(len(buf)), pos)
		pos -= k
		if _, err := f.ReadAt(buf[:k], pos); err != nil {
			return 0, err
		}
		for i := k - 1; i >= 0; i-- {
			if buf[i] == '\n' {
				if need--; need == 0 {
					return pos + i + 1, nil
				}
			}
		}
	}
	return 0, nil
}
