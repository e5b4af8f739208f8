//go:build ignore

package main

import (
	"io"
	"net/http"
	"strconv"
)

// report sends a file of the reports directory: with sendfile, or with a
// stall timeout through writes of io.Copy's buffer.
func (s *server) report(w http.ResponseWriter, r *http.Request) {
	if s.reports == nil {
		http.NotFound(w, r)
		return
	}
	f, err := s.reports.Open(r.PathValue("name"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(info.Size(), 10))
	var dst io.Writer = w // io.Copy sends the file with sendfile
	if s.stall > 0 {
		dst = s.writer(w) // write by write, each within the stall timeout
	}
	_, _ = io.Copy(dst, f)
}
