package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// runsServer serves handlers.Runs for m on loopback, with the kinds
// "count" (?n= events, then it completes; a bad n is a *ParamError) and
// "wait" (until cancelled), and returns its base URL and how many
// producers have been called (a kind makes one for every POST, which Start
// calls only for a new run).
func runsServer(t *testing.T, m *runs.Manager) (string, *atomic.Int64) {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	m.Logger, m.Events.Logger = quiet, quiet
	t.Cleanup(func() { m.Close() })
	var made atomic.Int64
	h := handlers.Runs{Manager: m, Kinds: map[string]handlers.RunKind{
		"count": func(c *gin.Context) (generator.Func[sse.Event], error) {
			n, err := strconv.Atoi(c.DefaultQuery("n", "3"))
			if err != nil {
				return nil, &handlers.ParamError{Param: "n", Value: c.Query("n"), Msg: "n must be an integer"}
			}
			return func(_ context.Context, yield func(sse.Event) error) error {
				made.Add(1)
				for i := range n {
					if err := yield(sse.Event{Data: strconv.Itoa(i + 1)}); err != nil {
						return err
					}
				}
				return nil
			}, nil
		},
		"wait": func(*gin.Context) (generator.Func[sse.Event], error) {
			return func(ctx context.Context, _ func(sse.Event) error) error {
				made.Add(1)
				<-ctx.Done()
				return ctx.Err()
			}, nil
		},
	}}.Handler()
	engine := gin.New()
	engine.POST("/runs", h)
	engine.GET("/runs/:id", h)
	engine.DELETE("/runs/:id", h)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return srv.URL, &made
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestRunsStartAndAttach: a POST starts a run, 201 with its Location and
// Info; a repeated Idempotency-Key gets the same Location and starts
// nothing; a GET of the Location attaches to the run from its first event
// to its end.
func TestRunsStartAndAttach(t *testing.T) {
	base, made := runsServer(t, &runs.Manager{})
	key := http.Header{"Idempotency-Key": {"3f1c-retry-me"}}
	resp, body := do(t, http.MethodPost, base+"/runs?kind=count&n=3", key)
	var info runs.Info
	if err := json.Unmarshal([]byte(body), &info); err != nil || resp.StatusCode != http.StatusCreated || info.Kind != "count" {
		t.Fatalf("POST: %s %q", resp.Status, body)
	}
	location := resp.Header.Get("Location")
	if location != "/runs/"+info.ID || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("Location %q, Idempotent-Replayed %q; want /runs/%s and none", location, resp.Header.Get("Idempotent-Replayed"), info.ID)
	}
	again, _ := do(t, http.MethodPost, base+"/runs?kind=count&n=3", key)
	if again.StatusCode != http.StatusCreated || again.Header.Get("Location") != location || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("POST again: %s, Location %q, Idempotent-Replayed %q; want 201, %q, true", again.Status, again.Header.Get("Location"), again.Header.Get("Idempotent-Replayed"), location)
	}
	resp, body = do(t, http.MethodGet, base+location, nil)
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if resp.Header.Get("Content-Type") != "application/x-ndjson" || len(lines) != 4 || !strings.Contains(lines[3], `"event":"end"`) || !strings.Contains(lines[3], `\"state\":\"completed\"`) {
		t.Errorf("GET: %s %q %q; want 3 lines and the end, completed", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	// A run's producer is called on the run's own goroutine, some time
	// after the POST is answered (CI once counted 0 right after it); the
	// run has ended now, so its producer has been called.
	if n := made.Load(); n != 1 {
		t.Errorf("%d producers called, want 1", n)
	}
}

// TestRunsCancel: a DELETE cancels the run, 200 with its Info, and a client
// attached as SSE gets the end event, cancelled.
func TestRunsCancel(t *testing.T) {
	base, _ := runsServer(t, &runs.Manager{})
	resp, _ := do(t, http.MethodPost, base+"/runs?kind=wait", nil)
	location := resp.Header.Get("Location")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+location, nil)
	req.Header.Set("Accept", "text/event-stream")
	attached, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer attached.Body.Close()
	resp, body := do(t, http.MethodDelete, base+location, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"state":"cancelled"`) {
		t.Errorf("DELETE: %s %q, want 200 and the run cancelled", resp.Status, body)
	}
	var end string
	for lines := bufio.NewScanner(attached.Body); lines.Scan(); {
		if lines.Text() == "event: end" && lines.Scan() {
			end = lines.Text()
		}
	}
	if !strings.Contains(end, `"state":"cancelled"`) {
		t.Errorf("the attached client's end: %q, want the run cancelled", end)
	}
}

// TestRunsRefused: what the handler refuses, and with what status.
func TestRunsRefused(t *testing.T) {
	base, made := runsServer(t, &runs.Manager{MaxPerClient: 1})
	if resp, _ := do(t, http.MethodPost, base+"/runs?kind=wait", nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %s", resp.Status)
	}
	tests := []struct {
		name       string
		method     string
		path       string
		key        string
		want       int
		retryAfter string
		body       string // a part of it
	}{
		{"no kind", http.MethodPost, "/runs", "", http.StatusBadRequest, "", `"allowed":["count","wait"]`},
		{"unknown kind", http.MethodPost, "/runs?kind=sleep", "", http.StatusBadRequest, "", `"allowed":["count","wait"]`},
		{"kind's parameter", http.MethodPost, "/runs?kind=count&n=x", "", http.StatusBadRequest, "", `"parameter":"n"`},
		{"Idempotency-Key with a space", http.MethodPost, "/runs?kind=count", "a b", http.StatusBadRequest, "", "Idempotency-Key"},
		{"Idempotency-Key too long", http.MethodPost, "/runs?kind=count", strings.Repeat("k", 256), http.StatusBadRequest, "", "Idempotency-Key"},
		{"client at its bound", http.MethodPost, "/runs?kind=count", "", http.StatusTooManyRequests, "5", "too many runs"},
		{"unknown run", http.MethodGet, "/runs/nope", "", http.StatusNotFound, "", "no such run"},
		{"cancel of an unknown run", http.MethodDelete, "/runs/nope", "", http.StatusNotFound, "", "no such run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.key != "" {
				h.Set("Idempotency-Key", tt.key)
			}
			resp, body := do(t, tt.method, base+tt.path, h)
			if resp.StatusCode != tt.want || resp.Header.Get("Retry-After") != tt.retryAfter || !strings.Contains(body, tt.body) {
				t.Errorf("%s %q, Retry-After %q; want %d with %q, Retry-After %q", resp.Status, body, resp.Header.Get("Retry-After"), tt.want, tt.body, tt.retryAfter)
			}
		})
	}
	if n := made.Load(); n > 1 {
		t.Errorf("%d producers called, want only the first run's", n)
	}
}

// TestRunsClosed: a closed Manager is answered 503 with Retry-After.
func TestRunsClosed(t *testing.T) {
	m := &runs.Manager{}
	base, _ := runsServer(t, m)
	m.Close()
	resp, body := do(t, http.MethodPost, base+"/runs?kind=count", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "2" {
		t.Errorf("POST: %s %q, Retry-After %q; want 503, Retry-After 2", resp.Status, body, resp.Header.Get("Retry-After"))
	}
}
