// Package tutorial_test re-does every example of the Koa streaming
// tutorial that ginstream was born from ("Pipe Node Readable Streams
// Through Koa Without Buffering") with ginstream's public API only, and
// checks each from the client's side over a real HTTP server on loopback,
// with a real PostgreSQL for the export. Each handler is kept no longer
// than the Koa snippet it replaces (5 lines for a file, 7 for a download,
// 12 for generated numbers); the routes below are the whole program.
package tutorial_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/pgtest"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(pgtest.Main(m))
}

// routes is the tutorial's program in ginstream: one handler per example.
func routes(root *os.Root, db *sql.DB, upstream string) *gin.Engine {
	r := gin.New()

	// "Streaming a File": ctx.body = fs.createReadStream(path.join('data', name)).
	r.GET("/reports/:name", handlers.Files{Root: root}.Handler())

	// Any io.Reader, in chunks: the createReadStream of Go.
	r.GET("/reader", func(c *gin.Context) {
		sink.Stream(c, sink.Bytes{Type: "text/csv"}, generator.ReadChunks(strings.NewReader(readerBody), 4))
	})

	// "Triggering a File Download", under a name with a space and an accent.
	r.GET("/download", func(c *gin.Context) {
		handlers.Attachment(c, "résumé 2024.csv")
		sink.Stream(c, sink.CSV{Header: []string{"id", "note"}}, generator.Slice([][]string{{"1", "=HYPERLINK(\"x\")"}}))
	})

	// "For truly large exports": CSV rows straight from a database cursor.
	r.GET("/export/users.csv", handlers.Export{DB: db, Query: "SELECT id, name, email FROM users ORDER BY id", Filename: "users.csv"}.Handler())

	// "Streaming Generated Content": 1 … 100, one every 20 ms.
	r.GET("/stream/numbers", func(c *gin.Context) {
		sink.Stream(c, sink.Lines[int]{}, generator.Count(100, 20*time.Millisecond))
	})

	// "Proxy another HTTP response".
	r.GET("/proxy/numbers", handlers.Proxy{URL: upstream + "/stream/numbers"}.Handler())

	// "If the stream emits an error, Koa destroys the response socket".
	r.GET("/broken", func(c *gin.Context) {
		sink.Stream(c, sink.Lines[string]{}, func(ctx context.Context, yield func(string) error) error {
			if err := yield("one"); err != nil {
				return err
			}
			return errors.New("the disk went away")
		})
	})

	// "Up next: Server-Sent Events".
	r.GET("/events", func(c *gin.Context) {
		(&sse.EventWriter{}).Stream(c, func(ctx context.Context, yield func(sse.Event) error) error {
			for i := 1; i <= 3; i++ {
				if err := yield(sse.Event{Name: "tick", Data: strconv.Itoa(i)}); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return r
}

const readerBody = "id,name\n1,Ada\n2,Grace\n"

// server starts the program on loopback with a reports directory and a
// PostgreSQL database of users.
func server(t *testing.T) (string, *sql.DB) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "q1.csv"), []byte("quarter,revenue\nQ1,100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	db := pgtest.DB(t)
	if _, err := db.Exec(`CREATE TABLE users (id int PRIMARY KEY, name text, email text);
		INSERT INTO users SELECT i, 'user ' || i, 'user' || i || '@example.com' FROM generate_series(1, 5000) AS i;
		UPDATE users SET name = '=cmd|'' /C calc''!A0' WHERE id = 7;`); err != nil {
		t.Fatal(err)
	}
	// The proxy's upstream is the server itself; its address is known
	// only once it listens.
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = routes(root, db, "http://"+srv.Listener.Addr().String())
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, db
}

func get(t *testing.T, url string) (*http.Response, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestTutorial(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	url, db := server(t)

	t.Run("file", func(t *testing.T) {
		resp, body, err := get(t, url+"/reports/q1.csv")
		if err != nil || resp.StatusCode != 200 || string(body) != "quarter,revenue\nQ1,100\n" || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Errorf("%d %q %q %v", resp.StatusCode, resp.Header.Get("Content-Type"), body, err)
		}
		if resp, _, _ := get(t, url+"/reports/..%2f..%2fetc%2fpasswd"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a path out of the directory: %d, want 404", resp.StatusCode)
		}
	})

	t.Run("reader in chunks", func(t *testing.T) {
		resp, body, err := get(t, url+"/reader")
		if err != nil || string(body) != readerBody || resp.Header.Get("Content-Type") != "text/csv" {
			t.Errorf("%q %q %v", resp.Header.Get("Content-Type"), body, err)
		}
	})

	t.Run("download named with a space and an accent", func(t *testing.T) {
		resp, body, err := get(t, url+"/download")
		_, params, perr := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
		if err != nil || perr != nil || params["filename"] != "résumé 2024.csv" {
			t.Errorf("Content-Disposition %q (%v): name %q, want %q", resp.Header.Get("Content-Disposition"), perr, params["filename"], "résumé 2024.csv")
		}
		if want := "id,note\n1,\"'=HYPERLINK(\"\"x\"\")\"\n"; string(body) != want {
			t.Errorf("body %q, want %q (formula guarded by default)", body, want)
		}
	})

	t.Run("CSV export from a cursor", func(t *testing.T) {
		resp, body, err := get(t, url+"/export/users.csv")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %v", resp.StatusCode, err)
		}
		records, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil || len(records) != 5001 {
			t.Fatalf("%d records (%v), want a header and 5,000 rows", len(records), err)
		}
		rows, err := db.Query("SELECT id, name, email FROM users ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for i := 1; rows.Next(); i++ {
			var id, name, email string
			if err := rows.Scan(&id, &name, &email); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(name, "=") {
				name = "'" + name
			}
			if got, want := strings.Join(records[i], "|"), id+"|"+name+"|"+email; got != want {
				t.Fatalf("row %d: %q, want %q", i, got, want)
			}
		}
	})

	t.Run("numbers every 20 ms", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/stream/numbers", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// The first number arrives long before the last is produced
		// (about 2 s): the response streams.
		lines := bufio.NewScanner(resp.Body)
		start := time.Now()
		var firstAfter time.Duration
		n := 0
		for lines.Scan() {
			n++
			if n == 1 {
				firstAfter = time.Since(start)
			}
			if lines.Text() != strconv.Itoa(n) {
				t.Fatalf("line %d is %q", n, lines.Text())
			}
		}
		total := time.Since(start)
		if lines.Err() != nil || n != 100 {
			t.Fatalf("%d numbers, %v", n, lines.Err())
		}
		if firstAfter >= total/2 {
			t.Errorf("the first number came after %v of %v: not streamed", firstAfter, total)
		}
	})

	t.Run("proxied stream", func(t *testing.T) {
		_, body, err := get(t, url+"/proxy/numbers")
		var want strings.Builder
		for i := 1; i <= 100; i++ {
			fmt.Fprintf(&want, "%d\n", i)
		}
		if err != nil || string(body) != want.String() {
			t.Errorf("%d bytes, %v; want the upstream's 100 numbers", len(body), err)
		}
	})

	t.Run("an error mid-stream is a failed transfer", func(t *testing.T) {
		resp, body, err := get(t, url+"/broken")
		if resp.StatusCode != 200 || string(body) != "one\n" || !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%d %q %v; want the first line, then a connection reset", resp.StatusCode, body, err)
		}
	})

	t.Run("server-sent events", func(t *testing.T) {
		resp, body, err := get(t, url+"/events")
		want := "retry: 3000\n\nevent: tick\ndata: 1\n\nevent: tick\ndata: 2\n\nevent: tick\ndata: 3\n\nevent: end\ndata: completed\n\n"
		if err != nil || resp.Header.Get("Content-Type") != "text/event-stream" || string(body) != want {
			t.Errorf("%q %q %v; want %q", resp.Header.Get("Content-Type"), body, err, want)
		}
	})
}
