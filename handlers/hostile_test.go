package handlers

// Hostile input through real loopback servers: a traversal corpus for
// Files over HTTP/1.1, HTTP/2 and raw request lines; ranges that net/http
// answers wrongly on its own; header and CSV injection; and absurd
// parameters, with the status that net/http's header limit decides. The
// fuzz targets in fuzz_test.go send the same kinds of input, without the
// network, by the thousand.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	_ "modernc.org/sqlite"

	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// hostilePatience bounds every wait of these tests, so that a server that
// stops answering fails the test instead of hanging it. It is a deadlock
// guard, not a performance claim.
const hostilePatience = 30 * time.Second

// demoMaxHeaderBytes is the demo server's MaxHeaderBytes (cmd/demo).
const demoMaxHeaderBytes = 64 << 10

// rawResponse is what came back for a request written as raw bytes.
type rawResponse struct {
	status int
	header http.Header
	body   string // as much as could be read
	raw    string // the whole response as read, head and body
}

// hostileRaw writes request to a new connection to addr exactly as given,
// bypassing every URL and header check of Go's client, while it reads the
// response. The request is written on a goroutine of its own, joined before
// hostileRaw returns, so that a server that answers before it has read the
// whole request (431 for an oversized header) is heard.
func hostileRaw(t *testing.T, addr, request string) rawResponse {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, hostilePatience)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(hostilePatience)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close() // ends the write if the server stopped reading
	wg.Go(func() { _, _ = io.WriteString(conn, request) })

	var raw strings.Builder
	br := bufio.NewReader(io.TeeReader(conn, &raw))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%.80q…: reading the response: %v (read %q)", request, err, raw.String())
	}
	defer resp.Body.Close()
	// A server that refuses a request may reset the connection after its
	// answer: the body is what could be read.
	body, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: string(body), raw: raw.String()}
}

// errUnsendable reports a request target that Go's client cannot send as
// it is written.
var errUnsendable = errors.New("net/http's client cannot send this target as it is written")

// hostileGet sends a GET for target, exactly as written, with client to the
// server at base, and returns the status and the whole body. A non-nil err
// means that no whole answer came: the target cannot be sent
// (errUnsendable), the request failed (a reset stream, a closed
// connection, no answer within hostilePatience), or the body broke off;
// body then holds what was read of it.
func hostileGet(t *testing.T, client *http.Client, base, target string, header ...string) (code int, body string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hostilePatience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = target // sent as the request target, as it is
	if strings.HasPrefix(target, "//") || req.URL.RequestURI() != target {
		return 0, "", errUnsendable
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, string(b), fmt.Errorf("reading the body: %w", err)
	}
	return resp.StatusCode, string(b), nil
}

// traversalCorpus is every way these tests know to name a file outside
// the served root, or nothing: each must be answered 404 by Files, or
// refused by net/http before any handler runs (want says which).
// private/secret.txt lies beside the root; escape*.txt, escdir and
// sub/up.txt are symbolic links in the root that point at it.
func traversalCorpus(secret string) []struct{ name, target string } {
	return []struct{ name, target string }{
		{"raw dot-dot", "/files/../private/secret.txt"},
		{"raw dot-dot in a one-segment parameter", "/reports/../private/secret.txt"},
		{"dot-dot after a file", "/files/hello.txt/../../private/secret.txt"},
		{"dot segments", "/files/./sub/./../../private/secret.txt"},
		{"encoded slashes, one segment", "/reports/..%2fprivate%2fsecret.txt"},
		{"encoded slashes, twice up", "/reports/..%2f..%2fsecret"},
		{"encoded dots", "/files/%2e%2e/private/secret.txt"},
		{"encoded dots and slashes", "/files/%2e%2e%2fprivate%2fsecret.txt"},
		{"encoded, upper case", "/reports/%2E%2E%2Fprivate%2Fsecret.txt"},
		{"half-encoded dots", "/files/.%2e/private/secret.txt"},
		{"double-encoded", "/files/%252e%252e%252fprivate%252fsecret.txt"},
		{"double-encoded slashes", "/reports/..%252f..%252fprivate%252fsecret.txt"},
		{"triple-encoded", "/files/%25252e%25252e/private/secret.txt"},
		{"overlong UTF-8 dots (2 bytes)", "/files/%c0%ae%c0%ae/private/secret.txt"},
		{"overlong UTF-8 dots and slash", "/reports/%c0%ae%c0%ae%c0%afprivate%c0%afsecret.txt"},
		{"overlong UTF-8 dots (3 bytes)", "/files/%e0%80%ae%e0%80%ae/private/secret.txt"},
		{"overlong UTF-8 dots (4 bytes)", "/files/%f0%80%80%ae%f0%80%80%ae/private/secret.txt"},
		{"overlong UTF-8 slash alone", "/files/..%c0%afprivate%c0%afsecret.txt"},
		{"full-width dots", "/files/%ef%bc%8e%ef%bc%8e/private/secret.txt"},
		{"one dot leader", "/files/%e2%80%a5/private/secret.txt"},
		{"raw backslashes", `/files/..\private\secret.txt`},
		{"encoded backslashes", "/reports/..%5cprivate%5csecret.txt"},
		{"mixed slashes", `/files/sub/..\..%2fprivate/secret.txt`},
		{"NUL after the name", "/reports/hello.txt%00"},
		{"NUL inside dot-dot", "/files/.%00./private/secret.txt"},
		{"NUL before an extension", "/files/escape.txt%00.png"},
		{"absolute path", "/files//etc/passwd"},
		{"absolute path to the secret", "/files/" + secret},
		{"encoded absolute path", "/reports/%2fetc%2fpasswd"},
		{"empty segments", "/files/sub//..//..//private/secret.txt"},
		{"trailing dot-dot", "/reports/.."},
		{"semicolon path parameter", "/files/sub/..;/..;/private/secret.txt"},
		{"Windows drive letter", "/files/C:/private/secret.txt"},
		{"Windows drive letter and backslashes", "/files/C:%5cprivate%5csecret.txt"},
		{"Windows drive-relative", "/reports/C:..%5cprivate%5csecret.txt"},
		{"UNC path", "/files/%5c%5c127.0.0.1%5cshare%5csecret.txt"},
		{"Windows device path", "/files/%5c%5c%3f%5cC:%5csecret.txt"},
		{"Windows reserved name", "/reports/CON"},
		{"Windows trailing dot and space", "/reports/hello.txt.%20"},
		{"NTFS alternate data stream", "/reports/hello.txt::$DATA"},
		{"symbolic link to a file outside", "/reports/escape.txt"},
		{"absolute symbolic link outside", "/reports/escape-abs.txt"},
		{"symbolic link to a directory outside", "/files/escdir/secret.txt"},
		{"symbolic link outside, from below", "/files/sub/up.txt"},
		{"symbolic link inside, then dot-dot", "/files/subalias/../../private/secret.txt"},
		{"absolute symbolic link inside", "/files/absinside.txt/hello.txt"},
		{"a long walk up", "/files/" + strings.Repeat("../", 2000) + "private/secret.txt"},
		{"a long encoded walk up", "/reports/" + strings.Repeat("..%2f", 4000) + "private%2fsecret.txt"},
		{"a name too long for the system", "/reports/" + strings.Repeat("a", 5000)},
		{"a path too deep for the system", "/files/" + strings.Repeat("a/", 3000) + "b"},
	}
}

// hostileControl is a request that reaches a file, sent beside the corpus
// so that the corpus can fail: its body is the file's.
const hostileControl = "/files/sub/nested.txt"

// TestHostileTraversal sends the traversal corpus to Files through real
// loopback servers: with Go's client over HTTP/1.1 and HTTP/2 (the target
// sent exactly as written), and as raw HTTP/1.1 request lines, so that no
// client-side URL cleaning hides anything — on an engine routing on the
// decoded path, and on one routing on the raw path. Every request is
// answered 404, whole, and the secret beside the root never appears in a
// response: a target the client cannot send, a reset stream, a closed
// connection or a body cut short fails the test, since a handler that
// crashed or hung would end that way. Then the request lines that net/http itself refuses: 400 for
// a NUL, a control character or a space in the target, 431 for a target
// beyond the header limit; the handler never runs for those.
func TestHostileTraversal(t *testing.T) {
	fx := newFilesFixture(t)
	corpus := traversalCorpus(filepath.ToSlash(fx.secret))
	for engineName, engine := range hostileEngines(fx) {
		t.Run(engineName, func(t *testing.T) {
			for _, http2 := range []bool{false, true} {
				client, base := loopback.Serve(t, http2, engine, 0)
				proto := map[bool]string{false: "HTTP1.1", true: "HTTP2"}[http2]
				t.Run(proto, func(t *testing.T) {
					if code, body, err := hostileGet(t, client, base, hostileControl); err != nil || code != 200 || body != "nested\n" {
						t.Fatalf("control: GET %s = %d %q (%v), want 200", hostileControl, code, body, err)
					}
					for _, tt := range corpus {
						code, body, err := hostileGet(t, client, base, tt.target)
						if err != nil {
							t.Errorf("%s: GET %.100s: %.300v (status %d, %.100q); want 404", tt.name, tt.target, err, code, body)
							continue
						}
						if code != http.StatusNotFound || strings.Contains(body, "the secret") {
							t.Errorf("%s: GET %.100s = %d %.100q, want 404", tt.name, tt.target, code, body)
						}
					}
				})
				if http2 {
					continue
				}
				addr := strings.TrimPrefix(base, "http://")
				t.Run("raw request line", func(t *testing.T) {
					for _, tt := range corpus {
						r := hostileRaw(t, addr, "GET "+tt.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
						if r.status != http.StatusNotFound || strings.Contains(r.raw, "the secret") {
							t.Errorf("%s: GET %.100s = %d %.100q, want 404", tt.name, tt.target, r.status, r.body)
						}
					}
					// Absolute form, as sent to proxies: the path is
					// taken from it, and the same rules hold.
					r := hostileRaw(t, addr, "GET http://x/files/../private/secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
					if r.status != http.StatusNotFound || strings.Contains(r.raw, "the secret") {
						t.Errorf("absolute form: %d %q, want 404", r.status, r.body)
					}
					for _, tt := range []struct {
						name, target string
						status       int
					}{
						{"raw NUL", "/files/hello.txt\x00.png", http.StatusBadRequest},
						{"raw NUL in dot-dot", "/files/.\x00./private/secret.txt", http.StatusBadRequest},
						{"raw DEL", "/files/\x7f../private/secret.txt", http.StatusBadRequest},
						{"raw tab", "/files/..\t/private/secret.txt", http.StatusBadRequest},
						{"raw space", "/files/.. /private/secret.txt", http.StatusBadRequest},
						{"raw CR", "/files/..\r/private/secret.txt", http.StatusBadRequest},
						{"target beyond the header limit (2 MiB)", "/files/" + strings.Repeat("../", 700_000) + "private/secret.txt",
							http.StatusRequestHeaderFieldsTooLarge},
					} {
						r := hostileRaw(t, addr, "GET "+tt.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
						if r.status != tt.status || strings.Contains(r.raw, "the secret") {
							t.Errorf("%s: %d %.100q, want %d from net/http", tt.name, r.status, r.body, tt.status)
						}
					}
				})
			}
		})
	}
}

// TestHostileRanges: the ranges that http.ServeContent alone answers with
// an invalid 206 (a zero-length suffix range, "bytes 20-19/20"; any suffix
// range of an empty file, "bytes 0--1/0"; golang.org/issue/81262) are
// answered 416, or with the whole file for an empty file, over HTTP/1.1
// and HTTP/2; the satisfiable ranges beside them are still served.
func TestHostileRanges(t *testing.T) {
	fx := newFilesFixture(t)
	if err := os.WriteFile(filepath.Join(fx.dir, "empty.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, rangeHdr string
		status               int
		contentRange, body   string // body "*" is not checked (a multipart body)
	}{
		{"zero-length suffix", "digits.txt", "bytes=-0", 416, "bytes */20", "*"},
		{"zero-length suffix, padded", "digits.txt", "bytes= - 00 ", 416, "bytes */20", "*"},
		{"two zero-length suffixes", "digits.txt", "bytes=-0,-0", 416, "bytes */20", "*"},
		{"zero-length suffix beside a range", "digits.txt", "bytes=-0,2-3", 206, "bytes 2-3/20", "23"},
		{"zero-length suffix beside two ranges", "digits.txt", "bytes=0-0,-0,-1", 206, "", "*"},
		{"zero-length suffix beside a malformed range", "digits.txt", "bytes=-0,x", 416, "", "*"},
		{"a real suffix", "digits.txt", "bytes=-1", 206, "bytes 19-19/20", "j"},
		{"suffix of an empty file", "empty.txt", "bytes=-5", 200, "", ""},
		{"zero-length suffix of an empty file", "empty.txt", "bytes=-0", 200, "", ""},
		{"suffix and range of an empty file", "empty.txt", "bytes=0-1,-2", 200, "", ""},
		{"malformed range of an empty file", "empty.txt", "bytes=x", 416, "", "*"},
	}
	for _, http2 := range []bool{false, true} {
		client, base := loopback.Serve(t, http2, fx.engine(), 0)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/http2=%v", tt.name, http2), func(t *testing.T) {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/reports/"+tt.file, nil)
				req.Header.Set("Range", tt.rangeHdr)
				resp, body := filesDo(t, client, req)
				if resp.StatusCode != tt.status || resp.Header.Get("Content-Range") != tt.contentRange || tt.body != "*" && body != tt.body {
					t.Errorf("Range %q: %d, Content-Range %q, %q; want %d, %q, %q", tt.rangeHdr,
						resp.StatusCode, resp.Header.Get("Content-Range"), body, tt.status, tt.contentRange, tt.body)
				}
				if mt, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "multipart/byteranges" {
					checkByteRanges(t, tt.rangeHdr, body, params["boundary"], filesContent[tt.file])
					if strings.Contains(body, "20-19") {
						t.Errorf("Range %q: a part of no bytes in %q", tt.rangeHdr, body)
					}
				}
			})
		}
	}
}

// TestHostileDownloadNames serves files whose own names try to break the
// Content-Disposition header (CR LF and a header after it, a quote that
// closes the parameter, a bidirectional override), through Files with
// Attachment, and reads the response head as raw bytes: one
// Content-Disposition, printable ASCII, naming the file as downloadModel
// says, no injected header, and the file's bytes.
func TestHostileDownloadNames(t *testing.T) {
	fx := newFilesFixture(t)
	names := []string{
		"evil\r\nSet-Cookie: session=evil.txt",
		"lf\nX-Injected: 1.txt",
		`x"; filename="evil.exe`,
		"invoice\u202etxt.exe",
		"tab\there;=.csv",
		"résumé 100%.pdf",
		" ",
	}
	for i, name := range names {
		if err := os.WriteFile(filepath.Join(fx.dir, name), []byte("file "+strconv.Itoa(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, base := loopback.Serve(t, false, fx.engine(), 0)
	addr := strings.TrimPrefix(base, "http://")
	for i, name := range names {
		t.Run(strconv.Quote(name), func(t *testing.T) {
			r := hostileRaw(t, addr, "GET /download/"+url.PathEscape(name)+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			head, _, _ := strings.Cut(r.raw, "\r\n\r\n")
			lines := strings.Split(head, "\r\n")
			var dispositions []string
			for _, line := range lines[1:] {
				k, v, _ := strings.Cut(line, ": ")
				switch strings.ToLower(k) {
				case "content-disposition":
					dispositions = append(dispositions, v)
				case "set-cookie", "x-injected":
					t.Errorf("injected header %q", line)
				}
				if strings.ContainsAny(line, "\r\n\x00") {
					t.Errorf("header line %q", line)
				}
			}
			if r.status != http.StatusOK || r.body != "file "+strconv.Itoa(i) || len(dispositions) != 1 {
				t.Fatalf("%d %q with Content-Disposition %q; want 200, the file and one Content-Disposition", r.status, r.body, dispositions)
			}
			typ, params, err := mime.ParseMediaType(dispositions[0])
			if err != nil || typ != "attachment" || params["filename"] != downloadModel(name) {
				t.Errorf("Content-Disposition %q reads as %q %q (%v), want attachment %q", dispositions[0], typ, params, err, downloadModel(name))
			}
		})
	}
}

// TestHostileCSVHeaderRow: the formula guard of Export covers the header
// row, whose cells are column names that a query may take from anywhere,
// as well as the rows (which export_test.go checks cell by cell); with
// AllowFormulas neither is changed. NDJSON escapes line breaks in names,
// one object per line.
func TestHostileCSVHeaderRow(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "hostile.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const query = `SELECT '=1+2' AS "=HYPERLINK(""http://evil.example/"")", '@SUM(A1)' AS "@cmd", ` +
		`'-2+3' AS "-x", '+5' AS "+5", char(9) || 'x' AS "` + "\t" + `tab", char(13) || 'y' AS "` + "\r" + `cr", ` +
		`'plain' AS "line` + "\n" + `break"`
	engine := gin.New()
	quiet := sink.Config{Logger: hostileQuiet}
	engine.GET("/guarded", Export{DB: db, Query: query, Config: quiet}.Handler())
	engine.GET("/allowed", Export{DB: db, Query: query, AllowFormulas: true, Config: quiet}.Handler())
	client, base := loopback.Serve(t, false, engine, 0)

	names := []string{`=HYPERLINK("http://evil.example/")`, "@cmd", "-x", "+5", "\ttab", "\rcr", "line\nbreak"}
	row := []string{"=1+2", "@SUM(A1)", "-2+3", "+5", "\tx", "\ry", "plain"}
	guard := func(cells []string) []string {
		out := make([]string, len(cells))
		for i, c := range cells {
			out[i] = c
			if c != "+5" && strings.ContainsAny(c[:1], "=+-@\t\r") {
				out[i] = "'" + c
			}
		}
		return out
	}
	for _, tt := range []struct {
		path      string
		head, row []string
	}{
		{"/guarded", guard(names), guard(row)},
		{"/allowed", names, row},
	} {
		code, body, err := hostileGet(t, client, base, tt.path)
		if err != nil || code != http.StatusOK {
			t.Fatalf("GET %s: %d %q (%v)", tt.path, code, body, err)
		}
		records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(records) != 2 {
			t.Fatalf("GET %s: %q reads as %q, %v", tt.path, body, records, err)
		}
		// encoding/csv reads a CR inside a quoted cell back as it is,
		// and a cell's leading CR survives the guard's quote.
		if fmt.Sprintf("%q", records[0]) != fmt.Sprintf("%q", tt.head) || fmt.Sprintf("%q", records[1]) != fmt.Sprintf("%q", tt.row) {
			t.Errorf("GET %s: header %q and row %q, want %q and %q", tt.path, records[0], records[1], tt.head, tt.row)
		}
	}

	code, body, err := hostileGet(t, client, base, "/guarded?format=ndjson")
	var object map[string]string
	if err != nil || code != http.StatusOK || strings.Count(body, "\n") != 1 || json.Unmarshal([]byte(body), &object) != nil || object["line\nbreak"] != "plain" {
		t.Errorf("NDJSON: %d %q (%v), want one object with the name %q", code, body, err, "line\nbreak")
	}
}

// hostileStreams returns an engine with the streams that take query
// parameters — Numbers at /numbers, Events (topics news and alerts) at
// /events and LogEvents (three lines kept) at /logs — and the hub of the
// event streams.
func hostileStreams(t *testing.T) (*gin.Engine, *sse.MemHub) {
	t.Helper()
	hub := &sse.MemHub{}
	quiet := sink.Config{Logger: hostileQuiet}
	// Path is never followed: Run is not started, the lines are
	// remembered below as Run would.
	logs := &LogEvents{Path: "unused.log", Hub: hub, Topic: "logs", Recent: 10, Heartbeat: -1, Config: quiet}
	for i := range 3 {
		e, err := hub.Publish(t.Context(), "logs", sse.Event{Data: "line " + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		logs.mu.Lock()
		logs.remember(e)
		logs.mu.Unlock()
	}
	engine := gin.New()
	engine.Use(gin.Recovery())
	engine.GET("/numbers", Numbers{Config: quiet}.Handler())
	engine.GET("/events", Events{Hub: hub, Topics: []string{"news", "alerts"}, Heartbeat: -1, Config: quiet}.Handler())
	engine.GET("/logs", logs.Handler())
	return engine, hub
}

// hostileServer serves engine on loopback over HTTP/1.1 with the given
// MaxHeaderBytes (0: net/http's default, 1 MiB) until t ends, and
// returns a client and the server's address. Streams still open are ended
// by closing hub first.
func hostileServer(t *testing.T, engine http.Handler, hub *sse.MemHub, maxHeaderBytes int) (*http.Client, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(engine)
	srv.Config.MaxHeaderBytes = maxHeaderBytes
	srv.Start()
	client := &http.Client{Transport: &http.Transport{Protocols: new(http.Protocols)}}
	client.Transport.(*http.Transport).Protocols.SetHTTP1(true)
	t.Cleanup(func() {
		hub.Close()
		client.CloseIdleConnections()
		srv.Close()
	})
	return client, srv.Listener.Addr().String()
}

// openStream requests an event stream and returns its response, whose body
// is closed when t ends, after checking that it opened: 200,
// text/event-stream, the retry field.
func openStream(t *testing.T, client *http.Client, url string, header ...string) (*http.Response, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hostilePatience)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %.80s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" || err != nil || !strings.HasPrefix(line, "retry: ") {
		t.Fatalf("GET %.80s: %d %s, first line %q (%v); want an event stream", url, resp.StatusCode, resp.Header.Get("Content-Type"), line, err)
	}
	return resp, br
}

// nextData returns the data of the next event of an event stream, and its
// type ("" for a message).
func nextData(t *testing.T, br *bufio.Reader) (typ, data string) {
	t.Helper()
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && data != "":
			return typ, data
		case strings.HasPrefix(line, "event: "):
			typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// TestHostileParams sends absurd parameters to real servers: each gets a
// 400 whose JSON names the parameter and its range or choices, or a normal
// stream where ignoring the input is right (a Last-Event-ID that is not an
// id is no id), and the server goes on serving. Oversized requests are
// refused by net/http's header limit, which covers the request line: with
// its default (1 MiB, plus 4 KiB of slack) a 1 MiB query string or a 1 MiB
// Last-Event-ID gets through, and with the demo's 64 KiB each is answered
// 431 before any handler runs.
func TestHostileParams(t *testing.T) {
	engine, hub := hostileStreams(t)
	client, addr := hostileServer(t, engine, hub, 0)
	base := "http://" + addr
	serving := func(t *testing.T) {
		t.Helper()
		if code, body, err := hostileGet(t, client, base, "/numbers?count=3&interval=0"); err != nil || code != 200 || body != "1\n2\n3\n" {
			t.Fatalf("after it, GET /numbers?count=3&interval=0 = %d %q (%v), want 200 and three lines", code, body, err)
		}
	}
	mib := strings.Repeat("9", 1<<20)
	manyParams := strings.Repeat("p=0&", 9_997) + "count=3&interval=0" // 9,999 parameters
	tests := []struct {
		name, target  string
		param, value  string // the ParamError or ChoiceError expected; "" for 200
		malformed     bool   // the error is about the whole query string
		body          string // the body of a 200, if checked
		min, max      int64
		choiceAllowed string
	}{
		{name: "count=1e30", target: "/numbers?count=1e30", param: "count", value: "1e30", min: 1, max: 1_000_000_000},
		{name: "count=-1", target: "/numbers?count=-1", param: "count", value: "-1", min: 1, max: 1_000_000_000},
		{name: "count=0", target: "/numbers?count=0", param: "count", value: "0", min: 1, max: 1_000_000_000},
		{name: "count beyond int64", target: "/numbers?count=9223372036854775808", param: "count", value: "9223372036854775808", min: 1, max: 1_000_000_000},
		{name: "count=NaN", target: "/numbers?count=NaN", param: "count", value: "NaN", min: 1, max: 1_000_000_000},
		{name: "interval=-1", target: "/numbers?interval=-1", param: "interval", value: "-1", min: 0, max: 60_000},
		{name: "interval=1e30", target: "/numbers?count=2&interval=1e30", param: "interval", value: "1e30", min: 0, max: 60_000},
		{name: "interval=Infinity", target: "/numbers?interval=Infinity", param: "interval", value: "Infinity", min: 0, max: 60_000},
		{name: "count of a million digits, shown cut", target: "/numbers?count=" + mib, param: "count", value: mib[:64] + "…", min: 1, max: 1_000_000_000},
		{name: "9,999 parameters", target: "/numbers?" + manyParams, body: "1\n2\n3\n"},
		{name: "10,000 parameters", target: "/numbers?p=0&" + manyParams, body: "1\n2\n3\n"},
		{name: "10,001 parameters", target: "/numbers?p=0&p=0&" + manyParams, param: "count", malformed: true, min: 1, max: 1_000_000_000},
		{name: "1 MiB query string", target: "/numbers?count=3&interval=0&pad=" + mib, body: "1\n2\n3\n"},
		{name: "lines=1e30", target: "/logs?lines=1e30", param: "lines", value: "1e30", min: 0, max: MaxTailLines},
		{name: "lines=-1", target: "/logs?lines=-1", param: "lines", value: "-1", min: 0, max: MaxTailLines},
		{name: "10,001 parameters to the log", target: "/logs?p=0&p=0&" + manyParams, param: "lines", malformed: true, min: 0, max: MaxTailLines},
		{name: "a topic of 1 MiB", target: "/events?topic=" + mib, param: "topic", value: mib[:64] + "…", choiceAllowed: "news,alerts"},
		{name: "10,001 parameters to the events", target: "/events?p=0&p=0&" + manyParams, param: "topic", malformed: true, choiceAllowed: "news,alerts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, err := hostileGet(t, client, base, tt.target)
			if err != nil {
				t.Fatalf("%d %.200q: %v", code, body, err)
			}
			if tt.param == "" {
				if code != http.StatusOK || body != tt.body {
					t.Fatalf("%d %.200q, want 200 %q", code, body, tt.body)
				}
				serving(t)
				return
			}
			var e struct {
				Param   string   `json:"parameter"`
				Value   string   `json:"value"`
				Min     int64    `json:"min"`
				Max     int64    `json:"max"`
				Allowed []string `json:"allowed"`
				Msg     string   `json:"error"`
			}
			if code != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil {
				t.Fatalf("%d %.200q, want 400 and a JSON error", code, body)
			}
			if e.Param != tt.param || e.Value != tt.value || e.Min != tt.min || e.Max != tt.max ||
				strings.Join(e.Allowed, ",") != tt.choiceAllowed || !strings.Contains(e.Msg, strconv.Quote(tt.param)) ||
				tt.malformed != strings.Contains(e.Msg, "malformed") {
				t.Errorf("error %+v, want one naming %q, showing %q, range %d to %d, allowed %q (about the whole query: %v)",
					e, tt.param, tt.value, tt.min, tt.max, tt.choiceAllowed, tt.malformed)
			}
			if len(body) > 1024 {
				t.Errorf("a %d-byte error body: the value is not cut", len(body))
			}
			serving(t)
		})
	}

	// Last-Event-IDs that are no id: each stream opens, with no reset,
	// and gets the next event; the log starts with its newest lines.
	for _, tt := range []struct {
		name, path string
		header     []string
	}{
		{"1 MiB Last-Event-ID", "/events", []string{"Last-Event-ID", mib}},
		{"1 MiB lastEventId parameter", "/events?lastEventId=" + mib, nil},
		{"Last-Event-ID with a sign", "/events", []string{"Last-Event-ID", "-1"}},
		{"Last-Event-ID of other digits", "/events", []string{"Last-Event-ID", "١٢٣"}},
		{"1 MiB Last-Event-ID to the log", "/logs?lines=2", []string{"Last-Event-ID", mib}},
		{"1 MiB lastEventId parameter to the log", "/logs?lines=2&lastEventId=" + mib, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, br := openStream(t, client, base+tt.path, tt.header...)
			if strings.HasPrefix(tt.path, "/logs") {
				for _, want := range []string{"line 1", "line 2"} {
					if typ, data := nextData(t, br); typ != "" || data != want {
						t.Fatalf("event %q %q, want the newest lines", typ, data)
					}
				}
				return
			}
			waitSubscribers(t, hub, "news", 1)
			if _, err := hub.Publish(t.Context(), "news", sse.Event{Data: "next"}); err != nil {
				t.Fatal(err)
			}
			if typ, data := nextData(t, br); typ != "" || data != "next" {
				t.Fatalf("event %q %q, want the next event and no reset", typ, data)
			}
		})
		waitSubscribers(t, hub, "news", 0)
	}
	serving(t)
}

// waitSubscribers polls until the hub's topic has n subscribers.
func waitSubscribers(t *testing.T, hub *sse.MemHub, topic string, n int) {
	t.Helper()
	deadline := time.Now().Add(hostilePatience)
	for hub.Subscribers(topic) != n {
		if time.Now().After(deadline) {
			t.Fatalf("topic %q has %d subscribers, want %d", topic, hub.Subscribers(topic), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHostileHeaderLimit sends the oversized requests to a server with the
// demo's MaxHeaderBytes (64 KiB) as raw bytes: a 1 MiB query string, a
// 1 MiB lastEventId parameter and a 1 MiB Last-Event-ID header are each
// answered 431 by net/http, before any handler runs, and the server goes
// on serving. Just under the limit, the same requests are served.
func TestHostileHeaderLimit(t *testing.T) {
	engine, hub := hostileStreams(t)
	client, addr := hostileServer(t, engine, hub, demoMaxHeaderBytes)
	mib := strings.Repeat("9", 1<<20)
	under := strings.Repeat("9", 60<<10)
	tests := []struct {
		name, target, header string
		status               int
	}{
		{"1 MiB query string", "/numbers?count=3&interval=0&pad=" + mib, "", http.StatusRequestHeaderFieldsTooLarge},
		{"1 MiB lastEventId parameter", "/events?lastEventId=" + mib, "", http.StatusRequestHeaderFieldsTooLarge},
		{"1 MiB Last-Event-ID", "/events", "Last-Event-ID: " + mib + "\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"60 KiB query string", "/numbers?count=3&interval=0&pad=" + under, "", http.StatusOK},
		{"60 KiB Last-Event-ID", "/numbers?count=3&interval=0", "Last-Event-ID: " + under + "\r\n", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := hostileRaw(t, addr, "GET "+tt.target+" HTTP/1.1\r\nHost: x\r\n"+tt.header+"Connection: close\r\n\r\n")
			if r.status != tt.status {
				t.Errorf("%d %.200q, want %d", r.status, r.body, tt.status)
			}
			if code, body, err := hostileGet(t, client, "http://"+addr, "/numbers?count=2&interval=0"); err != nil || code != 200 || body != "1\n2\n" {
				t.Fatalf("after it, %d %q (%v), want 200 and two lines", code, body, err)
			}
		})
	}
}
