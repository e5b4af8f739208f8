package handlers

// Fuzz targets for the request input that reaches the handlers: the query
// string of the streams (Numbers, Events, LogEvents), the Range and
// If-Range headers and the path of Files, and the download names of
// Attachment. Each sends its input through a gin engine straight to an
// http.ResponseWriter, with no network, so that it can send what no HTTP
// client would and run thousands of inputs a second; the same kinds of
// input go through real loopback servers in hostile_test.go. The seed
// corpora are checked in under testdata/fuzz.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// hostileQuiet discards the logs of the streams that the tests' clients
// end early, which is most of them.
var hostileQuiet = slog.New(slog.DiscardHandler)

// hangupRecorder is an http.ResponseWriter that records a response and,
// if hangUp is set, cancels the request after the first write, as a client
// that reads the first bytes of a stream and leaves. It has write
// deadlines, as a connection does, so that the sink ends a stream the way
// it does on a real server. It is used from the handler's goroutine only.
type hangupRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
	writes int
	hangUp bool
	cancel context.CancelFunc
}

func (w *hangupRecorder) Header() http.Header { return w.header }

func (w *hangupRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *hangupRecorder) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.writes++
	w.body.Write(p)
	if w.hangUp {
		w.cancel()
	}
	return len(p), nil
}

func (w *hangupRecorder) Flush() {}

func (w *hangupRecorder) SetWriteDeadline(time.Time) error { return nil }

// serveHangup serves req with h and returns the response; with hangUp the
// client leaves after the first write.
func serveHangup(h http.Handler, req *http.Request, hangUp bool) *hangupRecorder {
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	w := &hangupRecorder{header: http.Header{}, hangUp: hangUp, cancel: cancel}
	h.ServeHTTP(w, req.WithContext(ctx))
	return w
}

// hostileDecimal is what strconv.ParseInt reads in base 10.
var hostileDecimal = regexp.MustCompile(`^[+-]?[0-9]+$`)

// intParamModel is the model of intParam for one parameter of a query that
// net/url parses: the value, or ok false and the value a ParamError must
// show.
func intParamModel(values url.Values, name string, def, min, max int64) (v int64, ok bool, shown string) {
	raw, present := values[name]
	if !present {
		return def, true, ""
	}
	if hostileDecimal.MatchString(raw[0]) {
		n, _ := new(big.Int).SetString(strings.TrimPrefix(raw[0], "+"), 10)
		if n.Cmp(big.NewInt(min)) >= 0 && n.Cmp(big.NewInt(max)) <= 0 {
			return n.Int64(), true, ""
		}
	}
	shown = raw[0]
	if len(shown) > 64 {
		shown = shown[:64] + "…"
	}
	return 0, false, shown
}

// asJSONString returns s as it reads back from a JSON string: invalid
// UTF-8 replaced.
func asJSONString(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// Keys of the JSON forms of a ParamError, sorted: an integer parameter
// has a range, a parameter with a list of values the list instead.
var (
	intParamKeys    = []string{"error", "max", "min", "parameter", "value"}
	choiceParamKeys = []string{"allowed", "error", "parameter", "value"}
)

// jsonKeys returns the keys of the JSON object body, sorted; nil if body is
// not an object.
func jsonKeys(body []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

// wantParamError checks a 400 answer of intParam for the parameter name
// (from min to max), showing value; with malformed, a refusal of the whole
// query string.
func wantParamError(t *testing.T, query string, w *hangupRecorder, name string, min, max int64, value string, malformed bool) {
	t.Helper()
	var pe ParamError
	if w.code != http.StatusBadRequest || !strings.HasPrefix(w.header.Get("Content-Type"), "application/json") {
		t.Fatalf("query %q: %d %s %q, want 400 and a JSON error for %q", query, w.code, w.header.Get("Content-Type"), w.body.String(), name)
	}
	if err := json.Unmarshal(w.body.Bytes(), &pe); err != nil {
		t.Fatalf("query %q: body %q: %v", query, w.body.String(), err)
	}
	if keys := jsonKeys(w.body.Bytes()); !slices.Equal(keys, intParamKeys) {
		t.Fatalf("query %q: body %q has keys %q, want %q", query, w.body.String(), keys, intParamKeys)
	}
	if pe.Param != name || pe.Min != min || pe.Max != max || pe.Value != asJSONString(value) ||
		!strings.Contains(pe.Msg, strconv.Quote(name)) || malformed != strings.Contains(pe.Msg, "malformed") {
		t.Fatalf("query %q: error %+v, want one naming %q (%d to %d) and showing %q (malformed query: %v)",
			query, pe, name, min, max, value, malformed)
	}
}

// FuzzNumbersQuery sends any query string to Numbers. The answer is never
// a server error: it is 400 with a JSON ParamError naming count, then
// interval (the first found wrong), when the query string is malformed or
// a value is not a decimal integer in range; otherwise it is a stream of
// the lines 1, 2, 3, …, the whole of it when it is short and quick, else
// the first lines, after which the client leaves.
func FuzzNumbersQuery(f *testing.F) {
	for _, seed := range []string{
		"", "count=3&interval=0", "count=1e30", "count=-1", "interval=-1", "interval=1e30",
		"count=+5&interval=0", "count=%205", "count=0x10", "count=٣", "count=5;interval=0",
		"count=99999999999999999999", "interval=60001", "count=1000000000&interval=0",
		"count=2&interval=60000", "count=%zz", "count=", "count&interval", "count=1&count=x",
	} {
		f.Add(seed)
	}
	engine := gin.New()
	engine.GET("/stream/numbers", Numbers{Config: sink.Config{Logger: hostileQuiet}}.Handler())
	f.Fuzz(func(t *testing.T, query string) {
		values, malformed := url.ParseQuery(query)
		count, countOK, countShown := intParamModel(values, "count", 100, 1, 1_000_000_000)
		interval, intervalOK, intervalShown := intParamModel(values, "interval", 20, 0, 60_000)
		long := count > 1000 || interval > 0 // the client leaves after the first write

		req := httptest.NewRequest(http.MethodGet, "/stream/numbers", nil)
		req.URL.RawQuery = query
		w := serveHangup(engine, req, long)
		switch {
		case w.code >= 500:
			t.Fatalf("query %q: status %d: %q", query, w.code, w.body.String())
		case malformed != nil:
			wantParamError(t, query, w, "count", 1, 1_000_000_000, "", true)
		case !countOK:
			wantParamError(t, query, w, "count", 1, 1_000_000_000, countShown, false)
		case !intervalOK:
			wantParamError(t, query, w, "interval", 0, 60_000, intervalShown, false)
		default:
			if w.code != http.StatusOK || w.header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatalf("query %q: %d %s, want 200 text/plain", query, w.code, w.header.Get("Content-Type"))
			}
			lines := strings.SplitAfter(w.body.String(), "\n")
			if lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			if len(lines) == 0 || !long && int64(len(lines)) != count || int64(len(lines)) > count {
				t.Fatalf("query %q: %d lines, want %d (all unless the client left)", query, len(lines), count)
			}
			for i, line := range lines {
				if line != strconv.Itoa(i+1)+"\n" {
					t.Fatalf("query %q: line %d is %q", query, i+1, line)
				}
			}
		}
	})
}

// FuzzEventsQuery sends any query string and Last-Event-ID to the event
// streams: Events (?topic=, news or alerts) and LogEvents (?lines=, from 0
// to MaxTailLines). The answer is never a server error: it is 400 with a
// JSON error naming the parameter (ChoiceError for topic, ParamError for
// lines), and the allowed values, when the query string is malformed or the
// value is not allowed; otherwise the stream opens — 200,
// text/event-stream, the retry field first — whatever the Last-Event-ID,
// and the client leaves after the first write.
func FuzzEventsQuery(f *testing.F) {
	for _, seed := range []struct {
		query, lastID string
		logs          bool
	}{
		{"", "", false}, {"topic=alerts", "", false}, {"topic=News", "", false}, {"topic=news%0Aevent:x", "", false},
		{"topic=", "", false}, {"topic=news;x", "", false}, {"topic=%zz", "", false}, {"topic=alerts&topic=x", "5", false},
		{"lastEventId=1", "", false}, {"lastEventId=" + strings.Repeat("9", 30), "", false}, {"", "-1", false},
		{"", "", true}, {"lines=0", "", true}, {"lines=10000", "", true}, {"lines=10001", "", true}, {"lines=-1", "", true},
		{"lines=1e30", "x", true}, {"lines=%2B3&lastEventId=0", "", true}, {"lines=3", "18446744073709551616", true},
	} {
		f.Add(seed.query, seed.lastID, seed.logs)
	}
	hub := &sse.MemHub{}
	defer hub.Close()
	quiet := sink.Config{Logger: hostileQuiet}
	events := Events{Hub: hub, Topics: []string{"news", "alerts"}, Heartbeat: -1, Config: quiet}
	// Path is never followed: Run is not started, the lines are
	// remembered below as Run would.
	logs := &LogEvents{Path: "unused.log", Hub: hub, Topic: "logs", Recent: 5, Heartbeat: -1, Config: quiet}
	for i := range 3 { // lines for LogEvents to start with, as its Run does
		e, err := hub.Publish(context.Background(), "logs", sse.Event{Data: "line " + strconv.Itoa(i)})
		if err != nil {
			f.Fatal(err)
		}
		logs.mu.Lock()
		logs.remember(e)
		logs.mu.Unlock()
	}
	engine := gin.New()
	engine.GET("/events", events.Handler())
	engine.GET("/logs", logs.Handler())
	f.Fuzz(func(t *testing.T, query, lastID string, useLogs bool) {
		target := "/events"
		if useLogs {
			target = "/logs"
		}
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.URL.RawQuery = query
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		w := serveHangup(engine, req, true)
		if w.code >= 500 {
			t.Fatalf("%s?%s: status %d: %q", target, query, w.code, w.body.String())
		}
		values, malformed := url.ParseQuery(query)
		if useLogs {
			_, ok, shown := intParamModel(values, "lines", DefaultTailLines, 0, MaxTailLines)
			switch {
			case malformed != nil:
				wantParamError(t, query, w, "lines", 0, MaxTailLines, "", true)
				return
			case !ok:
				wantParamError(t, query, w, "lines", 0, MaxTailLines, shown, false)
				return
			}
		} else {
			topic, present := values["topic"]
			if malformed != nil || present && topic[0] != "news" && topic[0] != "alerts" {
				var ce ChoiceError
				if w.code != http.StatusBadRequest || json.Unmarshal(w.body.Bytes(), &ce) != nil {
					t.Fatalf("/events?%s: %d %q, want 400 and a JSON error", query, w.code, w.body.String())
				}
				if keys := jsonKeys(w.body.Bytes()); !slices.Equal(keys, choiceParamKeys) {
					t.Fatalf("/events?%s: body %q has keys %q, want %q", query, w.body.String(), keys, choiceParamKeys)
				}
				shown := ""
				if malformed == nil {
					shown = topic[0]
					if len(shown) > 64 {
						shown = shown[:64] + "…"
					}
				}
				if ce.Param != "topic" || ce.Value != asJSONString(shown) || strings.Join(ce.Allowed, ",") != "news,alerts" ||
					malformed != nil != strings.Contains(ce.Msg, "malformed") {
					t.Fatalf("/events?%s: error %+v, want one naming topic, showing %q, allowing news and alerts", query, ce, shown)
				}
				return
			}
		}
		if w.code != http.StatusOK || w.header.Get("Content-Type") != "text/event-stream" ||
			!strings.HasPrefix(w.body.String(), "retry: 3000\n\n") {
			t.Fatalf("%s?%s, Last-Event-ID %q: %d %s %q, want an event stream", target, query, lastID,
				w.code, w.header.Get("Content-Type"), w.body.String())
		}
	})
}

// hostileRange matches the Range headers whose answer FuzzFilesRange
// predicts exactly: one range with both ends.
var hostileRange = regexp.MustCompile(`^bytes=([0-9]{1,9})-([0-9]{1,9})$`)

// contentRange matches a Content-Range of a satisfied range.
var contentRange = regexp.MustCompile(`^bytes ([0-9]+)-([0-9]+)/([0-9]+)$`)

// FuzzFilesRange sends Files any Range header for a 20-byte file or an
// empty one, with no If-Range, a current one (the ETag or the modification
// date), a stale one, a weak ETag (which never matches) or any If-Range.
// The answer is never a server error; it is 200 with the whole file, 206
// with the bytes that the Content-Range names (one range) or a
// multipart/byteranges body whose every part holds the bytes its
// Content-Range names (several), or 416 — and never 206 for the empty
// file, which has no byte to send. A range of the form bytes=first-last is
// predicted exactly: 206 with those bytes (cut at the end of the file)
// when first is within the file and not after last, 416 otherwise; and a
// stale or weak If-Range always gets the whole file.
func FuzzFilesRange(f *testing.F) {
	for _, seed := range []struct {
		rangeHdr string
		ifRange  uint8
		raw      string
	}{
		{"bytes=2-5", 0, ""}, {"bytes=0-0", 1, ""}, {"bytes=18-", 2, ""}, {"bytes=-3", 0, ""},
		{"bytes=0-1,5-6,-2", 0, ""}, {"bytes=0-1,0-1,0-1", 0, ""}, {"bytes=20-30", 0, ""}, {"bytes=5-2", 0, ""},
		{"bytes=0-99999999999999999999", 0, ""}, {"bytes=-0", 0, ""}, {"bytes=--1", 0, ""}, {"bytes = 1-2", 0, ""},
		{"items=0-1", 0, ""}, {"bytes=0-1", 3, ""}, {"bytes=0-1", 4, ""}, {"bytes=0-1", 5, "Tue, 02 Jan 2024 03:04:05 GMT"},
		{"bytes=0-1", 5, "Tuesday, 02-Jan-24 03:04:05 GMT"}, {"bytes=0-1", 5, " \"x\""}, {"bytes=1-1,3-3", 5, "*"},
		{"bytes=" + strings.Repeat("0-0,", 200) + "1-1", 0, ""}, {"bytes=0-1\r\nX: y", 0, ""}, {"BYTES=0-1", 0, ""},
	} {
		f.Add(seed.rangeHdr, seed.ifRange, seed.raw, false)
		f.Add(seed.rangeHdr, seed.ifRange, seed.raw, true)
	}
	fx := newFilesFixture(f)
	emptyFile := filepath.Join(fx.dir, "empty.txt")
	if err := os.WriteFile(emptyFile, nil, 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Chtimes(emptyFile, filesModTime, filesModTime); err != nil {
		f.Fatal(err)
	}
	info, err := os.Stat(emptyFile)
	if err != nil {
		f.Fatal(err)
	}
	etags := map[string]string{"digits.txt": fx.etags["digits.txt"], "empty.txt": etag(info)}
	engine := fx.engine()
	lastModified := filesModTime.Format(http.TimeFormat)
	f.Fuzz(func(t *testing.T, rangeHdr string, ifRangeKind uint8, ifRangeRaw string, empty bool) {
		name, content := "digits.txt", filesContent["digits.txt"]
		if empty {
			name, content = "empty.txt", ""
		}
		size := len(content)
		ifRange := ""
		switch ifRangeKind % 6 {
		case 1:
			ifRange = etags[name]
		case 2:
			ifRange = lastModified
		case 3:
			ifRange = `"stale"`
		case 4:
			ifRange = "W/" + etags[name]
		case 5:
			ifRange = ifRangeRaw
		}
		req := httptest.NewRequest(http.MethodGet, "/reports/"+name, nil)
		if rangeHdr != "" {
			req.Header.Set("Range", rangeHdr)
		}
		if ifRange != "" {
			req.Header.Set("If-Range", ifRange)
		}
		w := serveHangup(engine, req, false)
		body := w.body.String()
		where := name + ": Range " + strconv.Quote(rangeHdr) + ", If-Range " + strconv.Quote(ifRange)

		// The exact predictions.
		if k := ifRangeKind % 6; k == 3 || k == 4 {
			if w.code != http.StatusOK || body != content {
				t.Fatalf("%s: %d %q, want the whole file: the If-Range does not match", where, w.code, body)
			}
		}
		if m := hostileRange.FindStringSubmatch(rangeHdr); m != nil && ifRangeKind%6 <= 2 {
			first, _ := strconv.Atoi(m[1])
			last, _ := strconv.Atoi(m[2])
			switch {
			case size == 0:
				if w.code != http.StatusOK && w.code != http.StatusRequestedRangeNotSatisfiable {
					t.Fatalf("%s: %d %q, want 200 or 416", where, w.code, body)
				}
			case first >= size || first > last:
				if w.code != http.StatusRequestedRangeNotSatisfiable {
					t.Fatalf("%s: %d %q, want 416", where, w.code, body)
				}
			case body != content[first:min(last, size-1)+1] || w.code != http.StatusPartialContent:
				t.Fatalf("%s: %d %q, want 206 %q", where, w.code, body, content[first:min(last, size-1)+1])
			}
		}

		// What holds for any Range.
		switch w.code {
		case http.StatusOK:
			if body != content {
				t.Fatalf("%s: 200 with %q, want the whole file", where, body)
			}
		case http.StatusRequestedRangeNotSatisfiable:
			if cr := w.header.Get("Content-Range"); cr != "" && cr != "bytes */"+strconv.Itoa(size) {
				t.Fatalf("%s: 416 with Content-Range %q", where, cr)
			}
			if size > 0 && strings.Contains(body, content[:4]) {
				t.Fatalf("%s: 416 with file bytes %q", where, body)
			}
		case http.StatusPartialContent:
			if rangeHdr == "" || size == 0 {
				t.Fatalf("%s: 206 %q with Content-Range %q, for a file of %d bytes", where, body, w.header.Get("Content-Range"), size)
			}
			mediaType, params, err := mime.ParseMediaType(w.header.Get("Content-Type"))
			if err == nil && mediaType == "multipart/byteranges" {
				checkByteRanges(t, where, body, params["boundary"], content)
				return
			}
			checkRangePart(t, where, w.header.Get("Content-Range"), body, content)
			if w.header.Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Fatalf("%s: Content-Length %q for %d bytes", where, w.header.Get("Content-Length"), len(body))
			}
		default:
			t.Fatalf("%s: status %d %q, want 200, 206 or 416", where, w.code, body)
		}
	})
}

// checkRangePart checks that data is the part of content that a
// Content-Range cr names.
func checkRangePart(t *testing.T, where, cr, data, content string) {
	t.Helper()
	m := contentRange.FindStringSubmatch(cr)
	if m == nil {
		t.Fatalf("%s: Content-Range %q", where, cr)
	}
	first, _ := strconv.Atoi(m[1])
	last, _ := strconv.Atoi(m[2])
	if m[3] != strconv.Itoa(len(content)) || first > last || last >= len(content) || data != content[first:last+1] {
		t.Fatalf("%s: Content-Range %q with %q, want the bytes it names of %q", where, cr, data, content)
	}
}

// checkByteRanges checks a multipart/byteranges body: two parts or more,
// each holding the bytes of content that its Content-Range names.
func checkByteRanges(t *testing.T, where, body, boundary, content string) {
	t.Helper()
	mr := multipart.NewReader(strings.NewReader(body), boundary)
	parts := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: part %d: %v in %q", where, parts, err, body)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("%s: part %d: %v", where, parts, err)
		}
		checkRangePart(t, where, part.Header.Get("Content-Range"), string(data), content)
		parts++
	}
	if parts < 2 {
		t.Fatalf("%s: multipart body with %d parts", where, parts)
	}
}

// hostileEngines returns the engines of a Files fixture that the path
// fuzzing and traversal tests use: as set up by default, and routing on
// the raw (still escaped) path, where an escaped slash reaches the handler
// as a slash.
func hostileEngines(fx *filesFixture) map[string]*gin.Engine {
	raw := fx.engine()
	raw.UseRawPath, raw.UnescapePathValues = true, true
	return map[string]*gin.Engine{"default": fx.engine(), "raw path": raw}
}

// FuzzFilesPath sends Files any request target that net/url can parse,
// under the fixture's routes (/reports/:name, /files/*path,
// /download/*path), to an engine routing on the decoded path or on the raw
// path. The answer is never a server error: it is a redirect that gin
// makes for a trailing slash, 400, 403 (a FIFO), 404, or 200 with the bytes
// of a regular file inside the root — never the secret that lies beside
// the root, which symbolic links in the root point at.
func FuzzFilesPath(f *testing.F) {
	for _, seed := range []struct {
		target string
		raw    bool
	}{
		{"/files/sub/nested.txt", false}, {"/reports/hello.txt", true}, {"/files/../private/secret.txt", false},
		{"/files/%2e%2e/private/secret.txt", true}, {"/reports/..%2fprivate%2fsecret.txt", true},
		{"/reports/%252e%252e%252fprivate%252fsecret.txt", false}, {"/files/%c0%ae%c0%ae/private/secret.txt", false},
		{"/files/..%5cprivate%5csecret.txt", true}, {"/reports/hello.txt%00.png", false}, {"/files//etc/passwd", false},
		{"/files/escdir/secret.txt", false}, {"/reports/escape.txt", true}, {"/download/sub/up.txt", false},
		{"/files/C:%5cprivate%5csecret.txt", true}, {"/files/C:/Windows/win.ini", false}, {"/files/sub/", false},
		{"/files/subalias/../../private/secret.txt", false}, {"/files/" + strings.Repeat("a/", 3000), false},
		{"/reports/pipe", false}, {"/download/%0d%0aSet-Cookie:%20a=b", true},
	} {
		f.Add(seed.target, seed.raw)
	}
	fx := newFilesFixture(f)
	engines := hostileEngines(fx)
	inside := map[string]bool{}
	for _, content := range filesContent {
		inside[content] = true
	}
	f.Fuzz(func(t *testing.T, target string, rawPath bool) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") {
			return // net/http answers 400 before any handler runs
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL, req.RequestURI = u, target
		engine := engines["default"]
		if rawPath {
			engine = engines["raw path"]
		}
		w := serveHangup(engine, req, false)
		body := w.body.String()
		if strings.Contains(body, "the secret") {
			t.Fatalf("GET %s (raw path %v): %d, the secret outside the root leaked: %q", target, rawPath, w.code, body)
		}
		switch w.code {
		case http.StatusOK:
			if !inside[body] {
				t.Fatalf("GET %s (raw path %v): 200 with %q, not a file inside the root", target, rawPath, body)
			}
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
			http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound:
		default:
			t.Fatalf("GET %s (raw path %v): status %d %q", target, rawPath, w.code, body)
		}
		if cd := w.header.Get("Content-Disposition"); strings.ContainsFunc(cd, func(r rune) bool { return r < ' ' || r > '~' }) {
			t.Fatalf("GET %s: Content-Disposition %q", target, cd)
		}
	})
}

// downloadModel is what ContentDisposition promises to make of a name, in
// the test's own words: the part after the last slash or backslash; each
// control character (C0, DEL, C1), invisible formatting character (Unicode
// category Cf: bidirectional overrides, zero-width characters, the BOM,
// soft hyphens), line or paragraph separator (U+2028, U+2029), byte of
// invalid UTF-8 and U+FFFD replaced by one "_"; and DefaultDownloadName
// for what is then empty, ".", ".." or white space only.
func downloadModel(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for len(name) > 0 {
		r, size := utf8.DecodeRuneInString(name)
		name = name[size:]
		switch {
		case r == utf8.RuneError, r < 0x20, r >= 0x7f && r < 0xa0,
			unicode.Is(unicode.Cf, r), r == '\u2028', r == '\u2029':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if out == "." || out == ".." || strings.TrimFunc(out, unicode.IsSpace) == "" {
		return DefaultDownloadName
	}
	return out
}

// downloadNameKey is the request context key under which
// FuzzAttachmentName passes the name to its handler.
type downloadNameKey struct{}

// FuzzAttachmentName sends any download name through Attachment and
// gin's response header. The header value is printable ASCII (no CR, LF,
// NUL or other control character); mime.ParseMediaType accepts it as an
// attachment with one filename, which (filename* decoded) is exactly
// downloadModel of the name; and its plain filename parameter, for
// clients that ignore filename*, is that name with every character outside
// printable ASCII, and every '"', '\' and '%', replaced by "_".
func FuzzAttachmentName(f *testing.F) {
	for _, name := range []string{
		"report.csv", "a.txt\r\nSet-Cookie: session=evil", "a\x00b", `x"; filename="evil.exe`, "résumé.pdf",
		"invoice\u202etxt.exe", "../../etc/passwd", `C:\Users\me\report.csv`, "", ".", "..", " \u3000 ", "\t",
		"a\xffb", "\ufffd", "100%25.txt", "\u2028", "zero\u200bwidth", "\U0001F4C8 sales.csv", "a/", "\x7f\u0085",
	} {
		f.Add(name)
	}
	engine := gin.New()
	engine.GET("/d", func(c *gin.Context) {
		Attachment(c, c.Request.Context().Value(downloadNameKey{}).(string))
		c.Status(http.StatusNoContent)
	})
	f.Fuzz(func(t *testing.T, name string) {
		req := httptest.NewRequest(http.MethodGet, "/d", nil)
		req = req.WithContext(context.WithValue(req.Context(), downloadNameKey{}, name))
		w := serveHangup(engine, req, false)
		values := w.header.Values("Content-Disposition")
		if len(values) != 1 {
			t.Fatalf("name %q: Content-Disposition %q, want one", name, values)
		}
		header := values[0]
		for i := 0; i < len(header); i++ {
			if c := header[i]; c < ' ' || c > '~' {
				t.Fatalf("name %q: header %q has byte %#x", name, header, c)
			}
		}
		want := downloadModel(name)
		typ, params, err := mime.ParseMediaType(header)
		if err != nil || typ != "attachment" || len(params) != 1 || params["filename"] != want {
			t.Fatalf("name %q: header %q reads back as %q %q (%v), want attachment, filename %q", name, header, typ, params, err, want)
		}
		ascii := header // without filename*, which follows the quoted filename
		if i := strings.LastIndex(header, `"; filename*=`); i >= 0 {
			ascii = header[:i+1]
		}
		_, params, err = mime.ParseMediaType(ascii)
		wantASCII := strings.Map(func(r rune) rune {
			if r < ' ' || r > '~' || r == '"' || r == '\\' || r == '%' {
				return '_'
			}
			return r
		}, want)
		if err != nil || params["filename"] != wantASCII {
			t.Fatalf("name %q: plain part %q reads back as %q (%v), want filename %q", name, ascii, params, err, wantASCII)
		}
	})
}
