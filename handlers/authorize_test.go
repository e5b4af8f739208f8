package handlers_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/pgtest"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// TestAuthorizeFilesAndExport: Files and Export ask their Authorizer with
// the resource before anything is opened or queried: a refusal is answered
// with its status and message and no header of the body; an authorization
// with an end cuts an export at that end; nil lets everything through.
func TestAuthorizeFilesAndExport(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "q1.csv"), []byte("a,b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	db := pgtest.DB(t)
	asked := make(chan string, 10)
	allow := func(lasts time.Duration) handlers.Authorizer {
		return func(c *gin.Context, resource string) (time.Time, error) {
			asked <- resource
			if c.Query("key") != "open sesame" {
				return time.Time{}, sink.WithStatus(http.StatusForbidden, errors.New("no key for "+resource))
			}
			if lasts == 0 {
				return time.Time{}, nil
			}
			return time.Now().Add(lasts), nil
		}
	}
	r := gin.New()
	r.GET("/files/:name", handlers.Files{Root: root, Attachment: true, Authorize: allow(0)}.Handler())
	r.GET("/export.csv", handlers.Export{DB: db, Query: "SELECT 1 AS n", Filename: "one.csv", Authorize: allow(0)}.Handler())
	r.GET("/slow.csv", handlers.Export{
		DB: db, Query: "SELECT i, repeat('x', 9000) AS pad, pg_sleep(0.01) FROM generate_series(1, 1000) AS i", Filename: "slow.csv",
		Authorize: allow(time.Second),
	}.Handler())
	srv := httptest.NewServer(r)
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()

	for _, tt := range []struct {
		path, resource string
		status         int
		body           string
	}{
		{"/files/q1.csv", "q1.csv", http.StatusForbidden, "403 Forbidden: no key for q1.csv\n"},
		{"/files/missing.csv", "missing.csv", http.StatusForbidden, "403 Forbidden: no key for missing.csv\n"},
		{"/files/q1.csv?key=open+sesame", "q1.csv", http.StatusOK, "a,b\n"},
		{"/export.csv", "one.csv", http.StatusForbidden, "403 Forbidden: no key for one.csv\n"},
		{"/export.csv?key=open+sesame", "one.csv", http.StatusOK, "n\n1\n"},
	} {
		resp, err := srv.Client().Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || string(body) != tt.body {
			t.Errorf("%s: %d %q; want %d %q", tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
		if tt.status != http.StatusOK && resp.Header.Get("Content-Disposition") != "" {
			t.Errorf("%s: Content-Disposition on a refusal", tt.path)
		}
		if got := <-asked; got != tt.resource {
			t.Errorf("%s: asked for %q, want %q", tt.path, got, tt.resource)
		}
	}

	// An authorization that ends before the export does cuts it. (Rows
	// of 9 KB, since PostgreSQL sends what fills its 8 KB buffer.)
	resp, err := srv.Client().Get(srv.URL + "/slow.csv?key=open+sesame")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	<-asked
	if resp.StatusCode != http.StatusOK || err == nil || len(body) == 0 {
		t.Errorf("an export past its authorization: %d, %d bytes, %v; want 200, some rows, then a failed transfer", resp.StatusCode, len(body), err)
	}
}

// TestAuthorizeLogs: Tail and LogEvents ask their Authorizer with the log's
// path and topic before anything is sent; an end cuts a followed log then
// (a failed transfer) and ends its event stream with a retry field.
func TestAuthorizeLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(path, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hub := &sse.MemHub{}
	defer hub.Close()
	asked := make(chan string, 10)
	authorize := func(c *gin.Context, resource string) (time.Time, error) {
		asked <- resource
		if c.Query("key") == "" {
			return time.Time{}, sink.WithStatus(http.StatusUnauthorized, errors.New("a key is needed"))
		}
		return time.Now().Add(300 * time.Millisecond), nil
	}
	logs := &handlers.LogEvents{Path: path, Hub: hub, Topic: "applog", Authorize: authorize, Heartbeat: -1}
	r := gin.New()
	r.GET("/tail", handlers.Tail{Path: path, Authorize: authorize}.Handler())
	r.GET("/events", logs.Handler())
	srv := httptest.NewServer(r)
	defer srv.Close()
	defer srv.Client().CloseIdleConnections()

	for _, tt := range []struct{ path, resource string }{{"/tail", path}, {"/events", "applog"}} {
		resp, err := srv.Client().Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || string(body) != "401 Unauthorized: a key is needed\n" {
			t.Errorf("%s without a key: %d %q; want 401 and its message", tt.path, resp.StatusCode, body)
		}
		if got := <-asked; got != tt.resource {
			t.Errorf("%s: asked for %q, want %q", tt.path, got, tt.resource)
		}
	}

	resp, err := srv.Client().Get(srv.URL + "/tail?key=k&lines=2")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	<-asked
	if resp.StatusCode != http.StatusOK || string(body) != "one\ntwo\n" || err == nil {
		t.Errorf("/tail with a key: %d %q, %v; want the lines, then a failed transfer at the end of the authorization", resp.StatusCode, body, err)
	}

	resp, err = srv.Client().Get(srv.URL + "/events?key=k&lines=2")
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	<-asked
	if resp.StatusCode != http.StatusOK || err != nil || !strings.Contains(string(body), "retry: ") {
		t.Errorf("/events with a key: %d %q, %v; want a stream that ends with a retry field", resp.StatusCode, body, err)
	}
}
