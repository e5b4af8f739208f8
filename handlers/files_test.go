package handlers

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/internal/testscale"
)

// filesModTime is the modification time of every fixture file.
var filesModTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// filesFixture is a served directory, "public", next to a directory that
// must stay out of reach, "private".
type filesFixture struct {
	dir    string   // the served directory
	secret string   // absolute path of private/secret.txt
	root   *os.Root // dir, as served
	etags  map[string]string
}

// filesContent is the content of the fixture's regular files.
var filesContent = map[string]string{
	"hello.txt":       "hello, world\n",
	"digits.txt":      "0123456789abcdefghij",
	"page.html":       "<!doctype html><title>t</title><p>hi</p>\n",
	"data.json":       `{"a":1}`,
	"image.png":       "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
	"doc.pdf":         "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
	"style.css":       "p { color: red }\n",
	"notes.zzz":       "plain words with no known extension\n",
	"sub/nested.txt":  "nested\n",
	"hello.txt.gz":    filesGzip("hello, world\n"),
	"sub/deeper/a.md": "# a\n",
	// A legal name on Linux, refused all the same: a backslash is a path
	// separator elsewhere.
	`sub\nested.txt`: "backslash\n",
}

func filesGzip(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.String()
}

func newFilesFixture(t testing.TB) *filesFixture {
	t.Helper()
	base := t.TempDir()
	f := &filesFixture{
		dir:    filepath.Join(base, "public"),
		secret: filepath.Join(base, "private", "secret.txt"),
		etags:  map[string]string{},
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(name, filesModTime, filesModTime); err != nil {
			t.Fatal(err)
		}
	}
	write(f.secret, "the secret\n")
	for name, content := range filesContent {
		write(filepath.Join(f.dir, name), content)
	}
	for link, target := range map[string]string{
		"alias.txt":      "hello.txt",                   // inside: served
		"subalias":       "sub",                         // inside: served
		"escape.txt":     "../private/secret.txt",       // outside
		"escape-abs.txt": f.secret,                      // outside, absolute
		"escdir":         "../private",                  // outside, a directory
		"loop":           "loop",                        // a loop
		"dangling.txt":   "missing.txt",                 // nothing
		"sub/up.txt":     "../../private/secret.txt",    // outside, from below
		"sub/back.txt":   "../hello.txt",                // inside, through ..
		"absinside.txt":  filepath.Join(base, "public"), // absolute, even inside
	} {
		if err := os.Symlink(target, filepath.Join(f.dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(f.dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	f.root = root
	for name := range filesContent {
		info, err := os.Stat(filepath.Join(f.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f.etags[name] = etag(info)
	}
	return f
}

// engine returns a gin engine serving f on /reports/:name (one path
// segment) and /files/*path (any path), for GET and HEAD, with gin's
// Recovery.
func (f *filesFixture) engine(extra ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Use(gin.Recovery())
	r.Use(extra...)
	files := Files{Root: f.root}.Handler()
	r.GET("/reports/:name", files)
	r.HEAD("/reports/:name", files)
	r.GET("/files/*path", files)
	r.HEAD("/files/*path", files)
	r.GET("/download/*path", Files{Root: f.root, Attachment: true}.Handler())
	return r
}

func (f *filesFixture) server(t *testing.T, extra ...gin.HandlerFunc) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(f.engine(extra...))
	t.Cleanup(ts.Close)
	return ts
}

// filesDo sends req and returns the response with its whole body.
func filesDo(t *testing.T, client *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL, err)
	}
	return resp, string(body)
}

func TestFilesStatus(t *testing.T) {
	f := newFilesFixture(t)
	ts := f.server(t)
	lastModified := filesModTime.Format(http.TimeFormat)
	helloTag, digitsTag := f.etags["hello.txt"], f.etags["digits.txt"]

	tests := []struct {
		name    string
		method  string // GET when empty
		path    string
		header  map[string]string // request headers
		status  int
		body    string
		want    map[string]string // response headers; "" means absent
		notBody bool              // the body is not checked
	}{
		{name: "whole file", path: "/reports/hello.txt", status: 200, body: "hello, world\n",
			want: map[string]string{"Content-Length": "13", "Content-Type": "text/plain; charset=utf-8",
				"Last-Modified": lastModified, "Etag": helloTag, "Accept-Ranges": "bytes",
				"X-Content-Type-Options": "nosniff", "Content-Disposition": ""}},
		{name: "catch-all parameter reaches a subdirectory", path: "/files/sub/nested.txt", status: 200, body: "nested\n"},
		{name: "symbolic link inside the root", path: "/reports/alias.txt", status: 200, body: "hello, world\n"},
		{name: "symbolic link to a directory inside the root", path: "/files/subalias/nested.txt", status: 200, body: "nested\n"},
		{name: "symbolic link through .. staying inside", path: "/files/sub/back.txt", status: 200, body: "hello, world\n"},
		{name: "HEAD whole file", method: "HEAD", path: "/reports/hello.txt", status: 200, body: "",
			want: map[string]string{"Content-Length": "13", "Content-Type": "text/plain; charset=utf-8", "Etag": helloTag}},

		{name: "range", path: "/reports/digits.txt", header: map[string]string{"Range": "bytes=2-5"},
			status: 206, body: "2345", want: map[string]string{"Content-Range": "bytes 2-5/20", "Content-Length": "4"}},
		{name: "suffix range", path: "/reports/digits.txt", header: map[string]string{"Range": "bytes=-3"},
			status: 206, body: "hij", want: map[string]string{"Content-Range": "bytes 17-19/20"}},
		{name: "open-ended range", path: "/reports/digits.txt", header: map[string]string{"Range": "bytes=18-"},
			status: 206, body: "ij", want: map[string]string{"Content-Range": "bytes 18-19/20"}},
		{name: "range past the end is cut", path: "/reports/digits.txt", header: map[string]string{"Range": "bytes=15-99"},
			status: 206, body: "fghij", want: map[string]string{"Content-Range": "bytes 15-19/20"}},
		{name: "HEAD range", method: "HEAD", path: "/reports/digits.txt", header: map[string]string{"Range": "bytes=2-5"},
			status: 206, body: "", want: map[string]string{"Content-Range": "bytes 2-5/20", "Content-Length": "4"}},
		{name: "If-Range with the current ETag", path: "/reports/digits.txt",
			header: map[string]string{"Range": "bytes=0-1", "If-Range": digitsTag}, status: 206, body: "01"},
		{name: "If-Range with the modification date", path: "/reports/digits.txt",
			header: map[string]string{"Range": "bytes=0-1", "If-Range": lastModified}, status: 206, body: "01"},
		{name: "If-Range with a stale ETag sends the whole file", path: "/reports/digits.txt",
			header: map[string]string{"Range": "bytes=0-1", "If-Range": `"stale"`}, status: 200, body: filesContent["digits.txt"]},

		{name: "If-None-Match with the ETag", path: "/reports/hello.txt",
			header: map[string]string{"If-None-Match": helloTag}, status: 304, body: "",
			want: map[string]string{"Etag": helloTag, "Content-Type": "", "Content-Length": ""}},
		{name: "If-None-Match with a list holding the ETag", path: "/reports/hello.txt",
			header: map[string]string{"If-None-Match": `"a", ` + helloTag}, status: 304, body: ""},
		{name: "If-None-Match star", path: "/reports/hello.txt",
			header: map[string]string{"If-None-Match": "*"}, status: 304, body: ""},
		{name: "If-None-Match with another ETag", path: "/reports/hello.txt",
			header: map[string]string{"If-None-Match": `"other"`}, status: 200, body: "hello, world\n"},
		{name: "If-Modified-Since the modification time", path: "/reports/hello.txt",
			header: map[string]string{"If-Modified-Since": lastModified}, status: 304, body: ""},
		{name: "If-Modified-Since an earlier time", path: "/reports/hello.txt",
			header: map[string]string{"If-Modified-Since": filesModTime.Add(-time.Second).Format(http.TimeFormat)},
			status: 200, body: "hello, world\n"},
		{name: "HEAD If-None-Match", method: "HEAD", path: "/reports/hello.txt",
			header: map[string]string{"If-None-Match": helloTag}, status: 304, body: ""},
		{name: "If-Match with another ETag", path: "/reports/hello.txt",
			header: map[string]string{"If-Match": `"other"`}, status: 412, notBody: true},

		{name: "range starting past the end", path: "/reports/digits.txt", header: map[string]string{"Range": "bytes=20-30"},
			status: 416, notBody: true, want: map[string]string{"Content-Range": "bytes */20"}},
		{name: "range ending before it starts", path: "/reports/digits.txt", header: map[string]string{"Range": "bytes=5-2"},
			status: 416, notBody: true},
		{name: "malformed range", path: "/reports/digits.txt", header: map[string]string{"Range": "bytes=x-y"},
			status: 416, notBody: true},

		{name: "missing file", path: "/reports/missing.txt", status: 404,
			body: "404 Not Found: \"missing.txt\": no such file\n",
			want: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Etag": "", "Last-Modified": ""}},
		{name: "HEAD missing file", method: "HEAD", path: "/reports/missing.txt", status: 404, body: ""},
		{name: "missing file in a subdirectory", path: "/files/sub/missing.txt", status: 404, notBody: true},
		{name: "file used as a directory", path: "/files/hello.txt/x", status: 404, notBody: true},
		{name: "directory", path: "/reports/sub", status: 404, body: "404 Not Found: \"sub\": no such file\n"},
		{name: "directory with a trailing slash", path: "/files/sub/", status: 404, notBody: true},
		{name: "nested directory", path: "/files/sub/deeper", status: 404, notBody: true},
		{name: "the root itself", path: "/files/", status: 404, notBody: true},
		{name: "dangling symbolic link", path: "/reports/dangling.txt", status: 404, notBody: true},
		{name: "symbolic link loop", path: "/reports/loop", status: 404, notBody: true},
		{name: "name too long", path: "/reports/" + strings.Repeat("a", 300), status: 404, notBody: true},
		{name: "FIFO", path: "/reports/pipe", status: 403,
			body: "403 Forbidden: \"pipe\": not a regular file\n"},
	}
	client := ts.Client()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), cmp.Or(tt.method, "GET"), ts.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, body := filesDo(t, client, req)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if !tt.notBody && body != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			for k, v := range tt.want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestFilesMultipleRanges(t *testing.T) {
	f := newFilesFixture(t)
	ts := f.server(t)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+"/reports/digits.txt", nil)
	req.Header.Set("Range", "bytes=0-1,5-6,-2")
	resp, body := filesDo(t, ts.Client(), req)
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("status = %d, want 206", resp.StatusCode)
	}
	mediaType, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/byteranges" {
		t.Fatalf("Content-Type = %q (%v), want multipart/byteranges", resp.Header.Get("Content-Type"), err)
	}
	if got, want := resp.Header.Get("Content-Length"), fmt.Sprint(len(body)); got != want {
		t.Errorf("Content-Length = %s, want %s", got, want)
	}
	want := []struct{ contentRange, data string }{
		{"bytes 0-1/20", "01"}, {"bytes 5-6/20", "56"}, {"bytes 18-19/20", "ij"},
	}
	mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
	for i, w := range want {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		data, _ := io.ReadAll(part)
		if got := part.Header.Get("Content-Range"); got != w.contentRange || string(data) != w.data {
			t.Errorf("part %d = %s %q, want %s %q", i, got, data, w.contentRange, w.data)
		}
		if got := part.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
			t.Errorf("part %d: Content-Type = %q", i, got)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("after the last part: %v, want io.EOF", err)
	}
}

func TestFilesContentTypes(t *testing.T) {
	f := newFilesFixture(t)
	ts := f.server(t)
	tests := []struct {
		name, file, mediaType string
	}{
		{"text", "hello.txt", "text/plain"},
		{"HTML", "page.html", "text/html"},
		{"CSS", "style.css", "text/css"},
		{"JSON", "data.json", "application/json"},
		{"PNG", "image.png", "image/png"},
		{"PDF", "doc.pdf", "application/pdf"},
		{"unknown extension is sniffed", "notes.zzz", "text/plain"},
		{"Markdown in a subdirectory", "sub/deeper/a.md", filesMediaType(mime.TypeByExtension(".md"), "text/plain")},
		// A compressed file is sent as it is: its own type, no Content-Encoding.
		{"gzip", "hello.txt.gz", filesMediaType(mime.TypeByExtension(".gz"), "application/x-gzip")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The client asks for gzip and would decompress a response
			// with Content-Encoding: gzip.
			req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+"/files/"+tt.file, nil)
			resp, body := filesDo(t, ts.Client(), req)
			if resp.StatusCode != 200 {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			if got := filesMediaType(resp.Header.Get("Content-Type"), ""); got != tt.mediaType {
				t.Errorf("media type = %q (Content-Type %q), want %q", got, resp.Header.Get("Content-Type"), tt.mediaType)
			}
			if body != filesContent[tt.file] {
				t.Errorf("body = %q, want the file's bytes %q", body, filesContent[tt.file])
			}
			if resp.Uncompressed || resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("Content-Encoding = %q (uncompressed %v), want none", resp.Header.Get("Content-Encoding"), resp.Uncompressed)
			}
		})
	}
}

// filesMediaType returns the media type of a Content-Type, or def if there is
// none.
func filesMediaType(contentType, def string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return def
	}
	return mt
}

// filesRawGet sends a GET for target exactly as written, bypassing the URL
// handling of Go's client, and returns the status and body.
func filesRawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", target); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	return resp.StatusCode, string(body)
}

func TestFilesTraversal(t *testing.T) {
	f := newFilesFixture(t)
	secret := filepath.ToSlash(f.secret)
	targets := []struct{ name, target string }{
		{"dot-dot", "/files/../private/secret.txt"},
		{"dot-dot from a subdirectory", "/files/sub/../../private/secret.txt"},
		{"dot-dot staying inside", "/files/sub/../hello.txt"},
		{"dot segment", "/files/./hello.txt"},
		{"bare dot-dot", "/reports/.."},
		{"encoded dots", "/files/%2e%2e/private/secret.txt"},
		{"encoded slashes", "/files/..%2fprivate%2fsecret.txt"},
		{"encoded slashes in a one-segment parameter", "/reports/..%2fprivate%2fsecret.txt"},
		{"encoded dots and slashes", "/reports/%2e%2e%2fprivate%2fsecret.txt"},
		{"double-encoded slashes", "/files/..%252fprivate%252fsecret.txt"},
		{"double-encoded dots and slashes", "/reports/%252e%252e%252fprivate%252fsecret.txt"},
		{"absolute path", "/files//etc/passwd"},
		{"absolute path to the secret", "/files/" + secret},
		{"encoded absolute path", "/reports/%2fetc%2fpasswd"},
		{"backslashes", `/files/..\private\secret.txt`},
		{"encoded backslashes", "/reports/..%5cprivate%5csecret.txt"},
		{"backslash in a clean name", "/reports/sub%5cnested.txt"},
		{"backslash in a clean name, unencoded", `/files/sub\nested.txt`},
		{"NUL after the name", "/reports/hello.txt%00"},
		{"NUL before an extension", "/files/hello.txt%00.png"},
		{"overlong UTF-8 dots", "/files/%c0%ae%c0%ae/private/secret.txt"},
		{"overlong UTF-8 dots and slashes", "/reports/%c0%ae%c0%ae%c0%afprivate%c0%afsecret.txt"},
		{"three-byte overlong dots", "/files/%e0%80%ae%e0%80%ae/private/secret.txt"},
		{"symbolic link to a file outside", "/reports/escape.txt"},
		{"absolute symbolic link to a file outside", "/reports/escape-abs.txt"},
		{"symbolic link to a directory outside", "/files/escdir/secret.txt"},
		{"symbolic link from a subdirectory to outside", "/files/sub/up.txt"},
		{"absolute symbolic link to inside", "/files/absinside.txt/hello.txt"},
	}
	engines := []struct {
		name  string
		setup func(*gin.Engine)
	}{
		{"default gin", func(*gin.Engine) {}},
		// Routing on the raw path unescapes parameters, so %2f reaches
		// Files as a slash.
		{"gin with UseRawPath", func(r *gin.Engine) { r.UseRawPath = true; r.UnescapePathValues = true }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			r := f.engine()
			e.setup(r)
			ts := httptest.NewServer(r)
			defer ts.Close()
			addr := ts.Listener.Addr().String()

			// The corpus must be able to fail: the same requests reach
			// real files when the name is clean.
			if code, body := filesRawGet(t, addr, "/files/sub/nested.txt"); code != 200 || body != "nested\n" {
				t.Fatalf("control: GET /files/sub/nested.txt = %d %q, want 200", code, body)
			}
			for _, tt := range targets {
				t.Run(tt.name, func(t *testing.T) {
					code, body := filesRawGet(t, addr, tt.target)
					if code != http.StatusNotFound {
						t.Errorf("GET %s = %d %q, want 404", tt.target, code, body)
					}
					if strings.Contains(body, "secret\n") || strings.Contains(body, "hello, world") {
						t.Errorf("GET %s leaked a file: %q", tt.target, body)
					}
				})
			}
		})
	}
}

// filesUnreadableEnv, set in the environment of the test binary, makes
// TestFilesUnreadable the server process of the test: it serves the
// directory the variable names.
const filesUnreadableEnv = "GINSTREAM_FILES_UNREADABLE_DIR"

// TestFilesUnreadable: a file that the server process may not read is
// answered 403 with its one-line message, while a readable file beside it
// is served. Root reads any file whatever its mode, so the server is a
// child process, this test binary run again, as an unprivileged user: the
// user "postgres" (as package pgtest runs PostgreSQL) when the tests run as
// root, as in CI, and the current user otherwise. The client is this
// process, over loopback.
func TestFilesUnreadable(t *testing.T) {
	if dir := os.Getenv(filesUnreadableEnv); dir != "" {
		filesUnreadableServer(t, dir)
		return
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = filesUnprivileged(t)
	}

	// A directory the server's user may enter and list, holding a
	// readable file and one that nobody but root may read; the test
	// binary is copied there, since the one go test built is in a
	// directory only its owner may enter.
	dir, err := os.MkdirTemp("", "ginstream-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	public := filepath.Join(dir, "public")
	if err := os.Mkdir(public, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"hello.txt": 0o644, "unreadable.txt": 0} {
		if err := os.WriteFile(filepath.Join(public, name), []byte(filesContent["hello.txt"]), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(public, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	exe := filepath.Join(dir, "handlers.test")
	if err := filesCopyExecutable(exe); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	addrR, addrW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer addrR.Close()
	cmd := exec.CommandContext(ctx, exe, "-test.run=^TestFilesUnreadable$")
	cmd.Env = append(os.Environ(), filesUnreadableEnv+"="+public)
	cmd.ExtraFiles = []*os.File{addrW} // fd 3: the server's address
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	stop, err := cmd.StdinPipe() // closed: the server stops
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Start()
	addrW.Close()
	if err != nil {
		t.Fatalf("start the server as uid %v: %v", cred, err)
	}
	exited := false
	defer func() {
		if !exited {
			stop.Close()
			_ = cmd.Wait()
		}
	}()
	line, err := io.ReadAll(addrR) // until the server closes it, or dies
	var uid int
	var base string
	if _, serr := fmt.Sscanf(string(line), "%d %s\n", &uid, &base); err != nil || serr != nil {
		stop.Close()
		werr := cmd.Wait()
		exited = true
		t.Fatalf("the server sent %q as its address (%v, %v), then exited: %v\n%s", line, err, serr, werr, out.Bytes())
	}
	if uid == 0 {
		t.Fatalf("the server runs as root, which may read any file")
	}
	t.Logf("the server runs as uid %d", uid)

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for _, tt := range []struct {
		name   string
		status int
		body   string
	}{
		// The control: the server reads what its user may read.
		{"hello.txt", http.StatusOK, filesContent["hello.txt"]},
		{"unreadable.txt", http.StatusForbidden, "403 Forbidden: \"unreadable.txt\": the file is not readable\n"},
	} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/reports/"+tt.name, nil)
		resp, body := filesDo(t, client, req)
		if resp.StatusCode != tt.status || body != tt.body {
			t.Errorf("GET %s from a server running as uid %d = %d %q, want %d %q", tt.name, uid, resp.StatusCode, body, tt.status, tt.body)
		}
	}
	stop.Close()
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Errorf("the server: %v\n%s", err, out.Bytes())
	}
}

// filesUnprivileged returns the credential of the user "postgres", whom
// TestFilesUnreadable's server runs as when the tests run as root. If there
// is no such user, it skips the test, or fails it in CI (see
// testscale.CI), where the test must run.
func filesUnprivileged(t *testing.T) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		if !testscale.CI() {
			t.Skipf("running as root, and no user %q to run the server as: %v", "postgres", err)
		}
		t.Fatalf("running as root, and no user %q to run the server as (CI is set, so the test must run): %v", "postgres", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// filesCopyExecutable copies the running test binary to name, executable by
// anyone.
func filesCopyExecutable(name string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	src, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// filesUnreadableServer is TestFilesUnreadable's server: it serves dir with
// Files on loopback, writes its user id and URL to file descriptor 3, and
// stops when its standard input closes.
func filesUnreadableServer(t *testing.T, dir string) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/reports/:name", Files{Root: root}.Handler())
	ts := httptest.NewServer(r)
	defer ts.Close()
	addr := os.NewFile(3, "address")
	if _, err := fmt.Fprintf(addr, "%d %s\n", os.Geteuid(), ts.URL); err != nil {
		t.Fatal(err)
	}
	addr.Close()
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func TestFileStatus(t *testing.T) {
	pathErr := func(err error) error { return &fs.PathError{Op: "openat", Path: "x", Err: err} }
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"missing", pathErr(syscall.ENOENT), 404},
		{"not a clean name", pathErr(errBadName), 404},
		{"a directory", pathErr(errDirectory), 404},
		{"escapes the root", pathErr(errors.New("path escapes from parent")), 404},
		{"a file used as a directory", pathErr(syscall.ENOTDIR), 404},
		{"symbolic link loop", pathErr(syscall.ELOOP), 404},
		{"name too long", pathErr(syscall.ENAMETOOLONG), 404},
		{"invalid argument", pathErr(syscall.EINVAL), 404},
		{"permission denied", pathErr(syscall.EACCES), 403},
		{"operation not permitted", pathErr(syscall.EPERM), 403},
		{"not a regular file", pathErr(errNotRegular), 403},
		{"too many open files", pathErr(syscall.EMFILE), 500},
		{"input/output error", pathErr(syscall.EIO), 500},
		{"out of memory", pathErr(syscall.ENOMEM), 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fileStatus(tt.err); got != tt.want {
				t.Errorf("fileStatus(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// readFromRecorder is the http.ResponseWriter a server hands its handler,
// recording how the body reaches it: through ReadFrom, where net/http uses
// sendfile for a file, or through Write.
type readFromRecorder struct {
	http.ResponseWriter
	readFrom   int64    // bytes copied by ReadFrom
	written    int64    // bytes written by Write
	srcs       []string // the type of each ReadFrom source, and of what it limits
	fileBacked bool     // every ReadFrom source is a file that sendfile takes
}

func (w *readFromRecorder) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

func (w *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	desc := reflect.TypeOf(src).String()
	_, isFile := src.(*os.File)
	if lr, ok := src.(*io.LimitedReader); ok {
		desc += " of " + reflect.TypeOf(lr.R).String()
		_, isFile = lr.R.(*os.File)
	}
	if len(w.srcs) == 0 {
		w.fileBacked = true
	}
	w.fileBacked = w.fileBacked && isFile
	w.srcs = append(w.srcs, desc)
	n, err := w.ResponseWriter.(io.ReaderFrom).ReadFrom(src)
	w.readFrom += n
	return n, err
}

func (w *readFromRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestFilesSendfile shows that Files hands the file to net/http's ReadFrom
// — which uses sendfile for an *os.File, or an io.LimitedReader of one —
// while gin's Context.File writes it through gin's writer, in pieces.
func TestFilesSendfile(t *testing.T) {
	f := newFilesFixture(t)
	const size = 4 << 20
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	if err := os.WriteFile(filepath.Join(f.dir, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := f.engine()
	r.GET("/cfile/:name", func(c *gin.Context) { c.File(filepath.Join(f.dir, c.Param("name"))) })

	tests := []struct {
		name       string
		path       string
		rangeHdr   string
		want       []byte
		sendfile   bool   // the whole body goes through ReadFrom with a file
		srcPattern string // the ReadFrom sources seen
	}{
		{"whole file", "/reports/big.bin", "", data, true, "*io.LimitedReader of *os.File"},
		{"range", "/reports/big.bin", "bytes=1000-2999999", data[1000:3000000], true, "*io.LimitedReader of *os.File"},
		// The reference this handler improves on, and proof that the
		// recorder tells the two apart.
		{"gin's Context.File", "/cfile/big.bin", "", data, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := make(chan *readFromRecorder, 1)
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				rec := &readFromRecorder{ResponseWriter: w}
				r.ServeHTTP(rec, req)
				recs <- rec
			}))
			defer ts.Close()
			req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+tt.path, nil)
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			_, body := filesDo(t, ts.Client(), req)
			if !bytes.Equal([]byte(body), tt.want) {
				t.Fatalf("body: %d bytes, not the %d expected", len(body), len(tt.want))
			}
			rec := <-recs
			if tt.sendfile {
				if rec.readFrom != int64(len(tt.want)) || rec.written != 0 || !rec.fileBacked {
					t.Errorf("ReadFrom copied %d bytes from %v, Write %d; want all %d through ReadFrom from a file",
						rec.readFrom, rec.srcs, rec.written, len(tt.want))
				}
				if got := strings.Join(rec.srcs, ", "); got != tt.srcPattern {
					t.Errorf("ReadFrom sources = %s, want %s", got, tt.srcPattern)
				}
			} else if rec.readFrom != 0 || rec.written != int64(len(tt.want)) {
				t.Errorf("ReadFrom copied %d bytes, Write %d; want all %d through Write",
					rec.readFrom, rec.written, len(tt.want))
			}
		})
	}
}

// bodyCounter is a middleware's replacement for gin's writer, such as a
// compressor would install. It declares Unwrap, as writers should for
// http.ResponseController.
type bodyCounter struct {
	gin.ResponseWriter
	n int
}

func (w *bodyCounter) Write(p []byte) (int, error) {
	w.n += len(p)
	return w.ResponseWriter.Write(p)
}

func (w *bodyCounter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestFilesMiddlewareWriter shows that Files never bypasses a writer a
// middleware put in place of gin's: sendfile is only for gin's own.
func TestFilesMiddlewareWriter(t *testing.T) {
	f := newFilesFixture(t)
	counted := make(chan int, 1)
	ts := f.server(t, func(c *gin.Context) {
		w := &bodyCounter{ResponseWriter: c.Writer}
		c.Writer = w
		c.Next()
		counted <- w.n
	})
	req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+"/reports/digits.txt", nil)
	_, body := filesDo(t, ts.Client(), req)
	if n := <-counted; body != filesContent["digits.txt"] || n != len(body) {
		t.Errorf("the middleware's writer saw %d of the %d bytes sent (%q)", n, len(body), body)
	}
}

// TestFilesLogging shows that gin's writer still reports the status and
// size the response had, for gin's logger, though the body bypassed it.
func TestFilesLogging(t *testing.T) {
	f := newFilesFixture(t)
	type record struct{ status, size int }
	records := make(chan record, 1)
	ts := f.server(t, func(c *gin.Context) {
		c.Next()
		records <- record{c.Writer.Status(), c.Writer.Size()}
	})
	tests := []struct {
		name, method, path string
		header             [2]string // a request header and its value
		want               record
	}{
		{"whole file", "GET", "/reports/digits.txt", [2]string{}, record{200, 20}},
		{"range", "GET", "/reports/digits.txt", [2]string{"Range", "bytes=3-9"}, record{206, 7}},
		// Nothing is written until gin ends the request, as with c.File.
		{"HEAD", "HEAD", "/reports/digits.txt", [2]string{}, record{200, -1}},
		{"304", "GET", "/reports/digits.txt", [2]string{"If-None-Match", "*"}, record{304, -1}},
		{"416", "GET", "/reports/digits.txt", [2]string{"Range", "bytes=50-"},
			record{416, len("invalid range: failed to overlap\n")}},
		{"404", "GET", "/reports/missing.txt", [2]string{},
			record{404, len("404 Not Found: \"missing.txt\": no such file\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, ts.URL+tt.path, nil)
			if tt.header[0] != "" {
				req.Header.Set(tt.header[0], tt.header[1])
			}
			filesDo(t, ts.Client(), req)
			if got := <-records; got != tt.want {
				t.Errorf("gin's writer says status %d, size %d; want %d, %d", got.status, got.size, tt.want.status, tt.want.size)
			}
		})
	}
}

// TestFilesShrinkingFile shows that a file cut short while it is being sent
// ends in a failed transfer the client detects, never in a short body that
// looks complete.
func TestFilesShrinkingFile(t *testing.T) {
	f := newFilesFixture(t)
	name := filepath.Join(f.dir, "shrinking.bin")
	// Sparse, so it costs no disk; far larger than the socket buffers, so
	// that most of it is still unsent when the client has the header.
	const size = 1 << 30
	file, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := file.Truncate(size); err != nil {
		t.Fatal(err)
	}
	file.Close()
	ts := f.server(t)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+"/reports/shrinking.bin", nil)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != size {
		t.Fatalf("status %d, length %d; want 200, %d", resp.StatusCode, resp.ContentLength, size)
	}
	if err := os.Truncate(name, 1<<20); err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || n >= size {
		t.Errorf("read %d bytes, then %v; want fewer than %d, then unexpected EOF", n, err, size)
	}
}

func TestFilesHTTP2(t *testing.T) {
	f := newFilesFixture(t)
	ts := httptest.NewUnstartedServer(f.engine())
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	tests := []struct {
		name, path, rangeHdr string
		status               int
		body                 string
	}{
		{"whole file", "/reports/digits.txt", "", 200, filesContent["digits.txt"]},
		{"range", "/reports/digits.txt", "bytes=4-7", 206, "4567"},
		{"missing", "/reports/nope", "", 404, "404 Not Found: \"nope\": no such file\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+tt.path, nil)
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			resp, body := filesDo(t, ts.Client(), req)
			if resp.ProtoMajor != 2 {
				t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
			}
			if resp.StatusCode != tt.status || body != tt.body {
				t.Errorf("= %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
		})
	}
}

func TestFilesAttachment(t *testing.T) {
	f := newFilesFixture(t)
	ts := f.server(t)
	tests := []struct {
		name, path, disposition string
		status                  int
	}{
		{"base name of the path", "/download/sub/nested.txt", `attachment; filename="nested.txt"`, 200},
		{"range", "/download/digits.txt", `attachment; filename="digits.txt"`, 206},
		{"not on an error", "/download/missing.txt", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+tt.path, nil)
			if tt.status == 206 {
				req.Header.Set("Range", "bytes=0-0")
			}
			resp, _ := filesDo(t, ts.Client(), req)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Disposition") != tt.disposition {
				t.Errorf("= %d, Content-Disposition %q; want %d, %q",
					resp.StatusCode, resp.Header.Get("Content-Disposition"), tt.status, tt.disposition)
			}
		})
	}
}

// TestFilesMisconfigured: a set-up mistake panics with a message that says
// what to fix when the handler is built, before any request.
func TestFilesMisconfigured(t *testing.T) {
	tests := []struct {
		name  string
		files Files
		want  string
	}{
		{"no root", Files{}, "handlers: Files.Root is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := func() (v any) {
				defer func() { v = recover() }()
				tt.files.Handler()
				return nil
			}()
			if got != tt.want {
				t.Errorf("Handler() panicked with %v, want %q", got, tt.want)
			}
		})
	}
}

// TestFilesLastParam: the file is named by the route's last parameter,
// a single segment or a catch-all, whatever parameters come before it.
func TestFilesLastParam(t *testing.T) {
	f := newFilesFixture(t)
	r := gin.New()
	files := Files{Root: f.root}.Handler()
	r.GET("/users/:user/reports/:name", files)
	r.GET("/users/:user/files/*path", files)
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/users/sub/reports/hello.txt", 200, filesContent["hello.txt"]},
		{"/users/hello.txt/reports/missing.txt", 404, "404 Not Found: \"missing.txt\": no such file\n"},
		{"/users/hello.txt/files/sub/nested.txt", 200, filesContent["sub/nested.txt"]},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
		if w.Code != tt.status || w.Body.String() != tt.body {
			t.Errorf("GET %s = %d %q, want %d %q", tt.path, w.Code, w.Body, tt.status, tt.body)
		}
	}
}

// FuzzFilesOpen: whatever name a request carries, Files opens nothing but a
// regular file inside the root, reached by a clean path, and answers any
// other name 403 or 404 — never 500, which is for system failures.
func FuzzFilesOpen(f *testing.F) {
	fx := newFilesFixture(f)
	for _, name := range []string{
		"hello.txt", "sub/nested.txt", "alias.txt", "subalias/nested.txt", "sub/back.txt", "pipe", "sub",
		"../private/secret.txt", "sub/../../private/secret.txt", "./hello.txt", "/etc/passwd",
		`..\private\secret.txt`, `sub\nested.txt`, "hello.txt\x00.png", "\xc0\xae\xc0\xae/private/secret.txt",
		"escape.txt", "escape-abs.txt", "escdir/secret.txt", "sub/up.txt", "absinside.txt/hello.txt",
		"loop", "dangling.txt", "hello.txt/", "", ".", "..", strings.Repeat("a/", 200),
	} {
		f.Add(name)
	}
	inside := map[string]bool{}
	for _, content := range filesContent {
		inside[content] = true
	}
	f.Fuzz(func(t *testing.T, name string) {
		file, info, err := Files{Root: fx.root}.open(name)
		if err != nil {
			if code := fileStatus(err); code != 403 && code != 404 {
				t.Fatalf("open(%q): %v, answered %d", name, err, code)
			}
			return
		}
		defer file.Close()
		if !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") || !info.Mode().IsRegular() {
			t.Fatalf("open(%q) opened %v", name, info.Mode())
		}
		data, err := io.ReadAll(file)
		if err != nil || !inside[string(data)] {
			t.Fatalf("open(%q) opened a file holding %q (%v), not one inside the root", name, data, err)
		}
	})
}

func ExampleFiles() {
	dir, _ := os.MkdirTemp("", "reports")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "summary.txt"), []byte("all good\n"), 0o644)

	reports, err := os.OpenRoot(dir)
	if err != nil {
		panic(err)
	}
	defer reports.Close()
	r := gin.New()
	files := Files{Root: reports}.Handler()
	r.GET("/reports/*path", files)
	r.HEAD("/reports/*path", files)

	for _, path := range []string{"/reports/summary.txt", "/reports/../../etc/passwd", "/reports/missing.txt"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%d %q\n", w.Code, w.Body)
	}
	// Output:
	// 200 "all good\n"
	// 404 "404 Not Found: \"../../etc/passwd\": no such file\n"
	// 404 "404 Not Found: \"missing.txt\": no such file\n"
}
