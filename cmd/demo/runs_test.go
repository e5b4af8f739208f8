package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// numbersTo returns "1", "2", … n.
func numbersTo(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = strconv.Itoa(i + 1)
	}
	return s
}

// TestRunsRoutes checks the routes of the runs with count runs: POST
// answers 201 with the run's Location, a repeated Idempotency-Key the same
// Location; GET attaches as NDJSON or Server-Sent Events, from the first
// event or after the last one a client had; DELETE cancels; unknown runs,
// kinds and parameters are refused.
func TestRunsRoutes(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10")

	t.Run("NDJSON: every number in order, then the end", func(t *testing.T) {
		const n = 20
		id := startRun(t, d, "kind=count&n=20&interval=5")
		for _, client := range []string{"attached while it runs", "attached after it ended"} {
			items := readRunNDJSON(t, d, id, "")
			if got := named(items, eventNumber); !slices.Equal(got, numbersTo(n)) {
				t.Fatalf("%s: numbers %v, want 1 to %d", client, got, n)
			}
			last := items[len(items)-1]
			if info := last.endInfo(t); info.ID != id || info.Kind != "count" || info.State != runs.Completed || info.Items != n {
				t.Errorf("%s: the end says %+v, want run %s of kind count completed with %d items", client, info, id, n)
			}
			if i := slices.IndexFunc(items, func(it runItem) bool { return it.Name == sse.EventEnd }); i != len(items)-1 {
				t.Errorf("%s: the end is line %d of %d, want the last", client, i+1, len(items))
			}
		}
	})

	t.Run("NDJSON from an event: the rest, once", func(t *testing.T) {
		id := startRun(t, d, "kind=count&n=10&interval=0")
		all := readRunNDJSON(t, d, id, "")
		fifth := all[slices.IndexFunc(all, func(it runItem) bool { return it.Name == eventNumber && it.Data == "5" })]
		rest := readRunNDJSON(t, d, id, fifth.ID)
		if got := named(rest, eventNumber); !slices.Equal(got, numbersTo(10)[5:]) {
			t.Fatalf("from the 5th number's id %s: numbers %v, want 6 to 10", fifth.ID, got)
		}
	})

	t.Run("Server-Sent Events, resumed with Last-Event-ID", func(t *testing.T) {
		const n = 30
		id := startRun(t, d, "kind=count&n=30&interval=10")
		s := openEvents(t, d, "/runs/"+id, "")
		first := s.take(t, eventNumber, 5)
		s.close() // the client leaves; the run goes on
		resumed := runItemsOf(t, openEvents(t, d, "/runs/"+id, first[4].ID))
		if got := joinNumbers(first, resumed); !slices.Equal(got, numbersTo(n)) {
			t.Fatalf("numbers before and after resuming: %v, want 1 to %d, each once", got, n)
		}
		if info := resumed[len(resumed)-1].endInfo(t); info.State != runs.Completed {
			t.Errorf("the end says %+v, want completed", info)
		}
	})

	t.Run("repeated Idempotency-Key: the same run", func(t *testing.T) {
		const key = "test-key-1"
		res1, body1 := postRun(t, d, "kind=count&n=3&interval=0", key)
		res2, body2 := postRun(t, d, "kind=count&n=3&interval=0", key)
		for i, res := range []*http.Response{res1, res2} {
			if res.StatusCode != http.StatusCreated || runLocation.FindString(res.Header.Get("Location")) == "" {
				t.Fatalf("POST %d: %s, Location %q; want 201 and /runs/{id}", i+1, res.Status, res.Header.Get("Location"))
			}
		}
		if l1, l2 := res1.Header.Get("Location"), res2.Header.Get("Location"); l1 != l2 {
			t.Fatalf("the same Idempotency-Key started two runs: %s and %s (%s, %s)", l1, l2, body1, body2)
		}
		if res2.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("the repeated POST's Idempotent-Replayed = %q, want true", res2.Header.Get("Idempotent-Replayed"))
		}
		res3, _ := postRun(t, d, "kind=count&n=3&interval=0", "test-key-2")
		if res3.Header.Get("Location") == res1.Header.Get("Location") {
			t.Errorf("another key got the same run %s", res3.Header.Get("Location"))
		}
	})

	t.Run("DELETE: attached clients get a cancelled end", func(t *testing.T) {
		id := startRun(t, d, "kind=count&n=1000&interval=50")
		clients := []*eventStream{openEvents(t, d, "/runs/"+id, ""), openEvents(t, d, "/runs/"+id, "")}
		for _, s := range clients {
			s.take(t, eventNumber, 1)
		}
		res, body := sendRun(t, d, http.MethodDelete, "/runs/"+id, "")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("DELETE: %s %q, want 200", res.Status, body)
		}
		for i, s := range clients {
			items := runItemsOf(t, s)
			if info := items[len(items)-1].endInfo(t); info.State != runs.Cancelled {
				t.Errorf("client %d: the end says %+v, want cancelled", i+1, info)
			}
			if e, err := s.next(); err == nil {
				t.Errorf("client %d: %+v after the end, want the stream to end", i+1, e)
			}
		}
		items := readRunNDJSON(t, d, id, "")
		if info := items[len(items)-1].endInfo(t); info.State != runs.Cancelled || info.Items >= 1000 {
			t.Errorf("a late client: the end says %+v, want cancelled before the 1000th number", info)
		}
	})

	t.Run("unknown run: 404", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			if res, body := sendRun(t, d, method, "/runs/0123456789abcdef0123456789abcdef", ""); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s of an unknown run: %s %q, want 404", method, res.Status, body)
			}
		}
	})

	t.Run("unknown kind: 400 naming the kinds", func(t *testing.T) {
		res, body := postRun(t, d, "kind=poem", "")
		var pe struct {
			Param   string   `json:"parameter"`
			Allowed []string `json:"allowed"`
		}
		if res.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &pe) != nil || pe.Param != "kind" {
			t.Fatalf("POST /runs?kind=poem: %s %q, want 400 about kind", res.Status, body)
		}
		for _, k := range []string{"tokens", "report", "count"} {
			if !slices.Contains(pe.Allowed, k) {
				t.Errorf("the kinds allowed %v lack %s", pe.Allowed, k)
			}
		}
	})

	t.Run("bad parameters: 400, nothing started", func(t *testing.T) {
		for _, tt := range []struct {
			query, param string
			lo, hi       int64
		}{
			{"kind=count&n=0", "n", 1, maxCount},
			{"kind=count&interval=soon", "interval", 0, maxCountPause},
			{"kind=tokens&words=2001", "words", 1, maxTokens},
			{"kind=report&pause=-1", "pause", 0, maxReportPause},
		} {
			res, body := postRun(t, d, tt.query, "")
			if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
				t.Errorf("POST /runs?%s: %s, Location %q; want 400 and none", tt.query, res.Status, res.Header.Get("Location"))
				continue
			}
			paramError(tt.param, tt.lo, tt.hi)(t, res, body)
		}
	})
}

// TestRunsTokens: a tokens run sends the reply's words as "token" events
// whose data, concatenated, is the reply's text.
func TestRunsTokens(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10")
	start := time.Now()
	id := startRun(t, d, "kind=tokens&words=30&seed=7")
	items := readRunNDJSON(t, d, id, "")
	took := time.Since(start)
	tokens := named(items, eventToken)
	if want := strings.Join(replyWords[:30], " "); strings.Join(tokens, "") != want {
		t.Fatalf("the tokens make %q, want %q", strings.Join(tokens, ""), want)
	}
	if info := items[len(items)-1].endInfo(t); info.State != runs.Completed || info.Items != 30 {
		t.Errorf("the end says %+v, want completed with 30 items", info)
	}
	if took < 30*minTokenPause {
		t.Errorf("30 tokens took %v, want at least %v: they come at intervals", took, 30*minTokenPause)
	}
}

// TestRunsReport: a report run writes every user to a file of the reports
// directory, the same bytes as /export/users.csv, with progress up to the
// count of users, and ends with the file's link; a cancelled one leaves no
// file behind.
func TestRunsReport(t *testing.T) {
	const users = 3000
	d := startDemo(t, t.TempDir(), nil, "-users", strconv.Itoa(users))
	reports := filepath.Join(d.dataDir, reportsDir)

	t.Run("completed: progress, then the link", func(t *testing.T) {
		id := startRun(t, d, "kind=report")
		items := readRunNDJSON(t, d, id, "")
		// The run's events, without the latest progress that opens the
		// stream (it has no id), which a client attaching mid-run gets
		// before the replay from the first event.
		var done []int64
		for _, it := range items {
			if it.Name != runs.EventProgress || it.ID == "" {
				continue
			}
			var p runs.Progress
			if err := json.Unmarshal([]byte(it.Data), &p); err != nil || p.Total != users {
				t.Fatalf("progress %q (%v), want a total of %d", it.Data, err, users)
			}
			done = append(done, p.Done)
		}
		if len(done) < 10 || !slices.IsSorted(done) || done[len(done)-1] != users {
			t.Errorf("progress %v, want at least 10 steps up to %d", done, users)
		}
		links := named(items, eventResult)
		if len(links) != 1 || !strings.HasPrefix(links[0], "/reports/users-") || !strings.HasSuffix(links[0], ".csv") {
			t.Fatalf("result events %q, want one link /reports/users-….csv", links)
		}
		if info := items[len(items)-1].endInfo(t); info.State != runs.Completed {
			t.Errorf("the end says %+v, want completed", info)
		}
		res, got := d.get(t, links[0])
		_, want := d.get(t, "/export/users.csv")
		if res.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Fatalf("GET %s: %s, %d bytes, want the %d bytes of /export/users.csv", links[0], res.Status, len(got), len(want))
		}
		checkUsersCSV(t, got, users)
	})

	t.Run("cancelled: no file left", func(t *testing.T) {
		before := reportFiles(t, reports)
		id := startRun(t, d, "kind=report&pause=200") // 100 steps: 20 s
		s := openEvents(t, d, "/runs/"+id, "")
		s.take(t, runs.EventProgress, 3)
		if res, body := sendRun(t, d, http.MethodDelete, "/runs/"+id, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("DELETE: %s %q", res.Status, body)
		}
		items := runItemsOf(t, s)
		if info := items[len(items)-1].endInfo(t); info.State != runs.Cancelled {
			t.Errorf("the end says %+v, want cancelled", info)
		}
		if links := named(items, eventResult); len(links) != 0 {
			t.Errorf("a cancelled report sent its link %q", links)
		}
		waitUntil(t, "the partial file is removed", func() bool {
			return slices.Equal(reportFiles(t, reports), before)
		})
	})

	t.Run("reports past the retention removed as the next starts", func(t *testing.T) {
		old := reportFileName(time.Now().Add(-2 * time.Hour))
		recent := reportFileName(time.Now())
		mine := "users-notes.csv" // not a report's name: not the demo's to remove
		if !isReportFileName(old) || isReportFileName(mine) {
			t.Fatalf("isReportFileName(%q) = false or (%q) = true", old, mine)
		}
		for _, name := range []string{old, recent, mine} {
			file := filepath.Join(reports, name)
			if err := os.WriteFile(file, []byte("id,name,email\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if name != recent {
				past := time.Now().Add(-2 * time.Hour) // beyond the default retention, 10 minutes
				if err := os.Chtimes(file, past, past); err != nil {
					t.Fatal(err)
				}
			}
		}
		items := readRunNDJSON(t, d, startRun(t, d, "kind=report"), "")
		if info := items[len(items)-1].endInfo(t); info.State != runs.Completed {
			t.Fatalf("the end says %+v, want completed", info)
		}
		files := reportFiles(t, reports)
		if slices.Contains(files, old) || !slices.Contains(files, recent) || !slices.Contains(files, mine) {
			t.Errorf("reports %q: want %q removed, %q and %q kept", files, old, recent, mine)
		}
	})
}

// reportFiles returns the files of the reports directory and of its
// partialDir.
func reportFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for _, sub := range []string{"", partialDir} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, filepath.Join(sub, e.Name()))
			}
		}
	}
	return files
}

// TestRunsGone: a run that ended more than -run-retention ago is answered
// 410, not 404.
func TestRunsGone(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10", "-run-retention", "300ms")
	id := startRun(t, d, "kind=count&n=1&interval=0")
	readRunNDJSON(t, d, id, "")
	var status int
	waitUntil(t, "the run is no longer kept", func() bool {
		res, _ := sendRun(t, d, http.MethodGet, "/runs/"+id, "")
		status = res.StatusCode
		return status != http.StatusOK
	})
	if status != http.StatusGone {
		t.Errorf("GET of a run past its retention: %d, want 410", status)
	}
}

// TestRunsShutdown: when the demo shuts down, its runs are cancelled and
// the streams attached to them get their end before the server stops.
func TestRunsShutdown(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10")
	id := startRun(t, d, "kind=count&n=1000&interval=50")
	s := openEvents(t, d, "/runs/"+id, "")
	s.take(t, eventNumber, 2)
	stopped := make(chan error, 1)
	go func() { stopped <- d.stop() }()
	items := runItemsOf(t, s)
	if info := items[len(items)-1].endInfo(t); info.State != runs.Cancelled {
		t.Errorf("at shutdown the end says %+v, want cancelled", info)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
