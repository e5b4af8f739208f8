package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// A client of the demo's runs, for the tests: start, attach, cancel.

// runLocation is the Location of a run started by POST /runs.
var runLocation = regexp.MustCompile(`^/runs/([0-9A-Za-z_-]+)$`)

// postRun sends POST /runs?query with key as Idempotency-Key (none if
// empty) and returns the response, with its body read.
func postRun(t *testing.T, d *demo, query, key string) (*http.Response, []byte) {
	t.Helper()
	return sendRun(t, d, http.MethodPost, "/runs?"+query, key)
}

// sendRun sends a request without a body to path of d, with key as
// Idempotency-Key if not empty, and returns the response with its body
// read.
func sendRun(t *testing.T, d *demo, method, path, key string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, d.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := d.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return res, body
}

// startRun starts a run (POST /runs?query), checks the answer, 201 with a
// Location /runs/{id} and the run's Info, and returns the id.
func startRun(t *testing.T, d *demo, query string) string {
	t.Helper()
	res, body := postRun(t, d, query, "")
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /runs?%s: %s %q, want 201", query, res.Status, body)
	}
	m := runLocation.FindStringSubmatch(res.Header.Get("Location"))
	if m == nil {
		t.Fatalf("POST /runs?%s: Location %q, want /runs/{id}", query, res.Header.Get("Location"))
	}
	var info runs.Info
	if err := json.Unmarshal(body, &info); err != nil || info.ID != m[1] {
		t.Errorf("POST /runs?%s: body %q (%v), want the Info of run %s", query, body, err, m[1])
	}
	return m[1]
}

// runItem is a line of a run's NDJSON stream, or an event of its event
// stream: one of the run's events, or its end (Name sse.EventEnd).
type runItem struct {
	ID   string
	Name string
	Data string
}

// endInfo returns the Info of an end item, failing t if it is not one.
func (it runItem) endInfo(t *testing.T) runs.Info {
	t.Helper()
	if it.Name != sse.EventEnd {
		t.Fatalf("%+v is not the run's end", it)
	}
	var info runs.Info
	if err := json.Unmarshal([]byte(it.Data), &info); err != nil {
		t.Fatalf("the end's data %q is not an Info: %v", it.Data, err)
	}
	return info
}

// readRunNDJSON attaches to run id as NDJSON (after the event from, if not
// empty) and returns every line, up to the end of the stream, failing t if
// the answer is not 200 or the stream does not end cleanly.
func readRunNDJSON(t *testing.T, d *demo, id, from string) []runItem {
	t.Helper()
	path := "/runs/" + id
	if from != "" {
		path += "?from=" + from
	}
	ctx, cancel := context.WithTimeout(t.Context(), eventPatience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/x-ndjson")
	res, err := d.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %s %q", path, res.Status, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") {
		t.Errorf("GET %s: Content-Type %q, want application/x-ndjson", path, ct)
	}
	var items []runItem
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		items = append(items, parseRunLine(t, sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("GET %s: the stream failed after %d lines: %v", path, len(items), err)
	}
	return items
}

// parseRunLine parses a line of a run's NDJSON stream: an object with the
// event's id, name and data.
func parseRunLine(t *testing.T, line []byte) runItem {
	t.Helper()
	var v struct {
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(line, &v); err != nil {
		t.Fatalf("NDJSON line %q: %v", line, err)
	}
	it := runItem{ID: v.ID, Name: v.Name, Data: string(v.Data)}
	if it.Name == "" {
		it.Name = v.Event
	}
	var s string
	if json.Unmarshal(v.Data, &s) == nil { // data as a JSON string
		it.Data = s
	}
	return it
}

// runItemsOf returns the items of an event stream of a run, up to and
// including its end, failing t if the stream ends without one.
func runItemsOf(t *testing.T, s *eventStream) []runItem {
	t.Helper()
	var items []runItem
	for {
		e, err := s.next()
		if err != nil {
			t.Fatalf("the stream ended (%v) without the run's end after %d events", err, len(items))
		}
		if e.Type == "message" && e.Data == "" {
			continue
		}
		items = append(items, runItem{ID: e.ID, Name: e.Type, Data: e.Data})
		if e.Type == sse.EventEnd {
			return items
		}
	}
}

// named returns the data of the items named name, in order.
func named(items []runItem, name string) []string {
	var data []string
	for _, it := range items {
		if it.Name == name {
			data = append(data, it.Data)
		}
	}
	return data
}

// joinNumbers returns the numbers of a count run that a client received
// before it left (events) and after it resumed (items).
func joinNumbers(before []event, after []runItem) []string {
	var got []string
	for _, e := range before {
		got = append(got, e.Data)
	}
	return append(got, named(after, eventNumber)...)
}
