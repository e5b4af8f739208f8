package handlers_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
)

// BenchmarkFiles sends a 64 MiB file over loopback HTTP/1.1 (keep-alive)
// three ways, in the same run: http.ServeContent on a plain net/http server
// (the reference), handlers.Files on gin, and gin's Context.File. Compare
// them as ratios; the target is Files within 10% of ServeContent and ahead
// of Context.File:
//
//	go test -run '^$' -bench BenchmarkFiles -count 5 ./handlers
//
// The client reads with a 1 MiB buffer into nothing, either in another
// process ("client-process", like a real client: the benchmark process is
// the server alone) or in the benchmark process ("client-in-process").
// Besides MB/s, cpu-ms/op is the CPU time, user and system, that the
// benchmark process spent per file: the server's alone with a client
// process, which is where sendfile's saved copies show, and which load from
// other processes disturbs less than MB/s.
func BenchmarkFiles(b *testing.B) {
	const size = 64 << 20
	dir := b.TempDir()
	name := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(name, bytes.Repeat([]byte("ginstream bench\n"), size/16), 0o644); err != nil {
		b.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()

	files := gin.New()
	files.GET("/:name", handlers.Files{Root: root}.Handler())
	cfile := gin.New()
	cfile.GET("/:name", func(c *gin.Context) { c.File(filepath.Join(dir, c.Param("name"))) })
	servers := []struct {
		name    string
		handler http.Handler
	}{
		{"ServeContent", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, err := os.Open(name)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer f.Close()
			info, err := f.Stat()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.ServeContent(w, r, "big.bin", info.ModTime(), f)
		})},
		{"Files", files},
		{"gin-Context.File", cfile},
	}
	clients := []struct {
		name  string
		start func(b *testing.B) func(url string) (status int, n int64)
	}{
		{"client-process", startFilesBenchClient},
		{"client-in-process", func(b *testing.B) func(string) (int, int64) {
			client := &http.Client{Transport: &http.Transport{}}
			b.Cleanup(client.CloseIdleConnections)
			buf := make([]byte, 1<<20)
			return func(url string) (int, int64) {
				status, n, err := filesBenchGet(client, url, buf)
				if err != nil {
					b.Fatal(err)
				}
				return status, n
			}
		}},
	}
	for _, c := range clients {
		b.Run(c.name, func(b *testing.B) {
			for _, s := range servers {
				b.Run(s.name, func(b *testing.B) {
					ts := httptest.NewServer(s.handler)
					defer ts.Close()
					get := c.start(b)
					b.SetBytes(size)
					cpu0 := filesBenchCPUTime(b)
					for b.Loop() {
						if status, n := get(ts.URL + "/big.bin"); status != http.StatusOK || n != size {
							b.Fatalf("status %d, %d bytes; want 200, %d", status, n, size)
						}
					}
					cpu := filesBenchCPUTime(b) - cpu0
					b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
				})
			}
		})
	}
}

// filesBenchGet gets url with client and reads the body into buf, returning the
// status and the length of the body.
func filesBenchGet(client *http.Client, url string, buf []byte) (status int, n int64, err error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	for {
		m, err := resp.Body.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return resp.StatusCode, n, nil
		}
		if err != nil {
			return resp.StatusCode, n, err
		}
	}
}

// filesBenchCPUTime returns the CPU time, user and system, that the process has
// used so far.
func filesBenchCPUTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// filesBenchClientEnv, set in the environment of the test binary, makes it a
// download client for BenchmarkFiles instead of running tests (see
// TestMain).
const filesBenchClientEnv = "GINSTREAM_BENCH_CLIENT"

// filesBenchClientMain is the download client process of BenchmarkFiles: for
// each URL on its standard input, it answers a line with the status and the
// length of the body, until its input ends. It returns the exit code.
func filesBenchClientMain() int {
	client := &http.Client{Transport: &http.Transport{}}
	buf := make([]byte, 1<<20)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		status, n, err := filesBenchGet(client, in.Text(), buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("%d %d\n", status, n)
	}
	return 0
}

// startFilesBenchClient starts the test binary as a download client
// (filesBenchClientMain) for b, and returns a function that has it get a URL.
func startFilesBenchClient(b *testing.B) func(url string) (status int, n int64) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), filesBenchClientEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("client process: %v", err)
		}
	})
	out := bufio.NewReader(stdout)
	return func(url string) (status int, n int64) {
		if _, err := fmt.Fprintln(in, url); err != nil {
			b.Fatal(err)
		}
		if _, err := fmt.Fscanln(out, &status, &n); err != nil {
			b.Fatalf("client process: %v", err)
		}
		return status, n
	}
}
