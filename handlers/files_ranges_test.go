package handlers

import (
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestFilesRangesNotAmplified: a Range header of many small ranges, or of
// ranges that overlap, gets the whole file with 200, never a multipart body
// many times the file's size (Go's ServeContent answers 276 one-byte
// ranges of a 276-byte file with 39 KB); a few distinct ranges still get
// 206 and exactly their bytes.
func TestFilesRangesNotAmplified(t *testing.T) {
	dir := t.TempDir()
	content := strings.Repeat("0123456789abcdef", 18)[:276]
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	r := gin.New()
	r.GET("/files/:name", Files{Root: root}.Handler())
	srv := httptest.NewServer(r)
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()

	ranges := func(n int, width int) string {
		specs := make([]string, n)
		for i := range specs {
			specs[i] = fmt.Sprintf("%d-%d", i*width, i*width+width-1)
		}
		return "bytes=" + strings.Join(specs, ",")
	}
	for _, tt := range []struct {
		name, header string
		parts        int // 0: the whole file with 200
	}{
		{"one byte each, all of the file", ranges(276, 1), 0},
		{"a thousand ranges", ranges(1000, 1), 0},
		{"MaxRanges+1 ranges", ranges(MaxRanges+1, 2), 0},
		{"two that overlap", "bytes=0-10,5-15", 0},
		{"a suffix overlapping a range", "bytes=200-210,-80", 0},
		{"an open range overlapping another", "bytes=100-,150-160", 0},
		{"MaxRanges distinct ranges", ranges(MaxRanges, 2), MaxRanges},
		{"two apart, out of order", "bytes=100-109,0-9", 2},
		{"adjacent, not overlapping", "bytes=0-9,10-19", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/files/data.txt", nil)
			req.Header.Set("Range", tt.header)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.parts == 0 {
				if resp.StatusCode != http.StatusOK || string(body) != content {
					t.Fatalf("%d with %d bytes; want 200 and the file's %d", resp.StatusCode, len(body), len(content))
				}
				return
			}
			if resp.StatusCode != http.StatusPartialContent {
				t.Fatalf("status %d; want 206", resp.StatusCode)
			}
			_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if err != nil {
				t.Fatal(err)
			}
			mr := multipart.NewReader(strings.NewReader(string(body)), params["boundary"])
			n := 0
			for {
				part, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				var first, last, size int
				if _, err := fmt.Sscanf(part.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &size); err != nil {
					t.Fatalf("part %d: Content-Range %q", n, part.Header.Get("Content-Range"))
				}
				got, _ := io.ReadAll(part)
				if string(got) != content[first:last+1] {
					t.Fatalf("part %d: %q, want %q", n, got, content[first:last+1])
				}
				n++
			}
			if n != tt.parts {
				t.Fatalf("%d parts; want %d", n, tt.parts)
			}
		})
	}
}
