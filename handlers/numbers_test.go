package handlers_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/sink"
)

// numbersServer serves n at /stream/numbers over v.
func numbersServer(t *testing.T, v overHTTP, n handlers.Numbers) (*http.Client, string) {
	t.Helper()
	return serveOver(t, v, exportEngine(map[string]gin.HandlerFunc{"/stream/numbers": n.Handler()}))
}

// numberLines returns the lines "1\n" to "n\n".
func numberLines(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	return b.String()
}

// readLine reads one line of a streamed body, failing the test if it does
// not come.
func readLine(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a line: %q, %v", line, err)
	}
	return line
}

// TestNumbersParameters: count and interval take their defaults when
// absent and any value in their ranges, bounds included; anything else,
// and a query string that cannot be parsed, is answered with 400 and a JSON
// ParamError naming the parameter and its range.
func TestNumbersParameters(t *testing.T) {
	type accepted struct {
		query string
		// body is the whole body, or its first lines if open is set: the
		// stream goes on (for a long time) and the client leaves.
		body string
		open bool
	}
	acceptedCases := []struct {
		name string
		accepted
	}{
		{"count defaults to 100", accepted{"interval=0", numberLines(100), false}},
		{"count=1, the least", accepted{"count=1", "1\n", false}},
		{"count=1000000000, the most", accepted{"count=1000000000&interval=0", numberLines(3), true}},
		{"interval=0, as fast as possible", accepted{"count=5&interval=0", numberLines(5), false}},
		{"interval=60000, the most", accepted{"count=2&interval=60000", "1\n", true}},
		{"a leading plus", accepted{"count=%2B3&interval=0", numberLines(3), false}},
		{"leading zeros", accepted{"count=003&interval=00", numberLines(3), false}},
		{"other parameters are ignored", accepted{"count=2&interval=0&x=abc&count2=0", numberLines(2), false}},
		{"10,000 parameters, the most a query string may have", accepted{"count=3&interval=0" + strings.Repeat("&x=1", 9_998), numberLines(3), false}},
		{"a repeated parameter: the first counts", accepted{"count=2&count=abc&interval=0", numberLines(2), false}},
	}
	const (
		countRange    = `an integer from 1 to 1000000000`
		intervalRange = `an integer from 0 to 60000`
	)
	long := strings.Repeat("9", 10_000)
	rejectedCases := []struct {
		name, query, param, value string
	}{
		{"count=0", "count=0", "count", "0"},
		{"count over the most", "count=1000000001", "count", "1000000001"},
		{"count=1e30", "count=1e30", "count", "1e30"},
		{"count beyond int64", "count=1000000000000000000000000000000", "count", "1000000000000000000000000000000"},
		{"count=-1", "count=-1", "count", "-1"},
		{"count=abc", "count=abc", "count", "abc"},
		{"count empty", "count=", "count", ""},
		{"count=1.5", "count=1.5", "count", "1.5"},
		{"count in hex", "count=0x10", "count", "0x10"},
		{"count with spaces", "count=%205", "count", " 5"},
		{"count of 10,000 digits, shown cut", "count=" + long, "count", long[:64] + "…"},
		{"interval=-1", "interval=-1", "interval", "-1"},
		{"interval=60001", "interval=60001", "interval", "60001"},
		{"interval=abc", "interval=abc", "interval", "abc"},
		{"interval empty", "interval=", "interval", ""},
		{"interval=1.5", "interval=1.5", "interval", "1.5"},
		{"a valid count does not excuse a bad interval", "count=5&interval=x", "interval", "x"},
		{"more than 10,000 parameters", "count=3" + strings.Repeat("&x=1", 10_000), "count", ""},
		{"a semicolon", "count=3;interval=0", "count", ""},
		{"a bad escape elsewhere", "count=3&x=%zz", "count", ""},
	}

	client, base := numbersServer(t, httpVersions[0], handlers.Numbers{Config: sink.Config{Logger: quiet}})
	for _, tt := range acceptedCases {
		t.Run(tt.name, func(t *testing.T) {
			resp := exportGet(t, client, base+"/stream/numbers?"+tt.query)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatalf("%d %s, want 200 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !tt.open {
				if body, err := io.ReadAll(resp.Body); err != nil || string(body) != tt.body {
					t.Errorf("body %q, %v; want %q", body, err, tt.body)
				}
				return
			}
			got := make([]byte, len(tt.body))
			if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != tt.body {
				t.Errorf("first lines %q, %v; want %q", got, err, tt.body)
			}
		})
	}
	for _, tt := range rejectedCases {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := exportBody(t, client, base+"/stream/numbers?"+tt.query)
			wantMin, wantMax, wantRange := int64(1), int64(1_000_000_000), countRange
			if tt.param == "interval" {
				wantMin, wantMax, wantRange = 0, 60_000, intervalRange
			}
			pe := checkParamError(t, resp, body, tt.param, wantMin, wantMax)
			if pe.Value != tt.value {
				t.Errorf("value %q, want %q", pe.Value, tt.value)
			}
			if !strings.Contains(pe.Msg, wantRange) {
				t.Errorf("message %q does not say %q", pe.Msg, wantRange)
			}
		})
	}
}

// checkParamError checks a 400 answer naming param and its range, and
// returns its body.
func checkParamError(t *testing.T, resp *http.Response, body []byte, param string, min, max int64) handlers.ParamError {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d (%q), want 400", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	var pe handlers.ParamError
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pe); err != nil {
		t.Fatalf("body %q is not a ParamError: %v", body, err)
	}
	if pe.Param != param || pe.Min != min || pe.Max != max {
		t.Errorf("parameter %q from %d to %d, want %q from %d to %d", pe.Param, pe.Min, pe.Max, param, min, max)
	}
	if !strings.Contains(pe.Msg, strconv.Quote(param)) {
		t.Errorf("message %q does not name %q", pe.Msg, param)
	}
	return pe
}

// TestNumbersDefaultInterval: without interval, the numbers come 20 ms
// apart, so three of them take at least 40 ms. (A lower bound, which a
// slow machine cannot break.)
func TestNumbersDefaultInterval(t *testing.T) {
	client, base := numbersServer(t, httpVersions[0], handlers.Numbers{})
	start := time.Now()
	_, body := exportBody(t, client, base+"/stream/numbers?count=3")
	if elapsed := time.Since(start); elapsed < 40*time.Millisecond {
		t.Errorf("3 numbers took %v, want at least 2 intervals of 20 ms", elapsed)
	}
	if string(body) != numberLines(3) {
		t.Errorf("body %q, want %q", body, numberLines(3))
	}
}

// TestNumbersArriveOverTime: each number reaches the client while the
// stream goes on — the first is readable while the next is still a minute
// away — and a paced stream delivers every number in order, then ends
// cleanly; over HTTP/1.1 and HTTP/2.
func TestNumbersArriveOverTime(t *testing.T) {
	for _, v := range httpVersions {
		t.Run(v.name, func(t *testing.T) {
			rep := newExportReports()
			client, base := numbersServer(t, v, handlers.Numbers{Config: sink.Config{OnReport: rep.hook, Logger: quiet}})

			resp := exportGet(t, client, base+"/stream/numbers?count=2&interval=60000")
			if line := readLine(t, bufio.NewReader(resp.Body)); line != "1\n" {
				t.Errorf("first line %q, want \"1\\n\"", line)
			}
			resp.Body.Close() // the client leaves; the producer stops
			if r := rep.next(t); r.Outcome != sink.ClientGone || r.Items != 1 {
				t.Errorf("report %v with %d items, want client_gone after 1", r.Outcome, r.Items)
			}

			resp = exportGet(t, client, base+"/stream/numbers?count=20&interval=2")
			br := bufio.NewReader(resp.Body)
			for i := 1; i <= 20; i++ {
				if line := readLine(t, br); line != strconv.Itoa(i)+"\n" {
					t.Fatalf("line %d is %q", i, line)
				}
			}
			if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
				t.Errorf("after the 20 numbers: %q, %v; want a clean end", rest, err)
			}
			if r := rep.next(t); r.Outcome != sink.Completed || r.Items != 20 {
				t.Errorf("report %v with %d items, want completed with 20", r.Outcome, r.Items)
			}
		})
	}
}

// TestNumbersLimit: with a Limit of one stream, a second request while the
// first runs is answered 503 with Retry-After, Cache-Control: no-store and a
// one-line message, and admitted once the first has ended.
func TestNumbersLimit(t *testing.T) {
	rep := newExportReports()
	n := handlers.Numbers{Config: sink.Config{Limit: sink.NewLimit(1, 2*time.Second), OnReport: rep.hook, Logger: quiet}}
	client, base := numbersServer(t, httpVersions[0], n)

	first := exportGet(t, client, base+"/stream/numbers?count=2&interval=60000")
	if line := readLine(t, bufio.NewReader(first.Body)); line != "1\n" {
		t.Fatalf("first stream: %q", line)
	}
	resp, body := exportBody(t, client, base+"/stream/numbers?count=1")
	const rejected = "503 Service Unavailable: too many streams at once; retry later\n"
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" ||
		resp.Header.Get("Cache-Control") != "no-store" || string(body) != rejected {
		t.Errorf("second stream: %d, Retry-After %q, Cache-Control %q, %q; want 503, 2, no-store, %q",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Cache-Control"), body, rejected)
	}
	if r := rep.next(t); r.Outcome != sink.Rejected {
		t.Errorf("report %v, want rejected", r.Outcome)
	}
	first.Body.Close()
	if r := rep.next(t); r.Outcome != sink.ClientGone {
		t.Errorf("report %v, want client_gone", r.Outcome)
	}
	if _, body := exportBody(t, client, base+"/stream/numbers?count=1"); string(body) != "1\n" {
		t.Errorf("after the first stream: %q", body)
	}
}

// ExampleNumbers serves the tutorial's numbers, and shows the answer to a
// bad parameter.
func ExampleNumbers() {
	r := gin.New()
	r.GET("/stream/numbers", handlers.Numbers{}.Handler())
	srv := httptest.NewServer(r)
	defer srv.Close()

	for _, query := range []string{"count=3&interval=0", "count=0"} {
		resp, err := srv.Client().Get(srv.URL + "/stream/numbers?" + query)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s", resp.StatusCode, body)
	}
	// Output:
	// 200 1
	// 2
	// 3
	// 400 {"parameter":"count","value":"0","min":1,"max":1000000000,"error":"query parameter \"count\" must be an integer from 1 to 1000000000"}
}
