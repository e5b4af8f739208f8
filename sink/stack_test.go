package sink_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/sink"
)

// TestWaitingStreamStack: a stream that has sent its first item and waits
// for its next holds no more goroutine stack than a plain net/http handler
// that wrote and flushed a line and waits. The first write of a response,
// which writes the headers, is its deepest call; made on the handler's
// goroutine, below gin and the sink, it grows that goroutine's stack from 8
// to 16 KiB, which stays while the stream waits: 8 KiB more per open paced
// stream or idle event stream. Both servers and their clients are in this
// process; the difference of the stacks in use is the figure.
func TestWaitingStreamStack(t *testing.T) {
	const streams = 200
	gin.SetMode(gin.ReleaseMode)
	raw := func(release <-chan struct{}) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte("1\n"))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
	}
	ginstream := func(release <-chan struct{}) http.Handler {
		r := gin.New()
		r.GET("/", func(c *gin.Context) {
			w := sink.Writer[int]{Encoder: sink.Lines[int]{}}
			w.Stream(c, func(ctx context.Context, yield func(int) error) error {
				if err := yield(1); err != nil {
					return err
				}
				select { // a paced producer, waiting for its next item
				case <-release:
				case <-ctx.Done():
				}
				return nil
			})
		})
		return r
	}
	perStream := func(newHandler func(<-chan struct{}) http.Handler) float64 {
		release := make(chan struct{})
		srv := httptest.NewServer(newHandler(release))
		defer srv.Close()
		defer close(release)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams, DisableCompression: true}}
		defer client.CloseIdleConnections()
		before := stackInuse()
		var bodies []*http.Response
		defer func() {
			for _, res := range bodies {
				res.Body.Close()
			}
		}()
		for range streams {
			res, err := client.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, res)
			if line, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil || line != "1\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
		}
		return float64(stackInuse()-before) / streams
	}
	// Per stream: the handler's goroutine, net/http's background read,
	// the client's connection goroutines. With a handler goroutine of 8 KiB
	// that is about 16 KiB here, with the race detector too; one grown to
	// 16 KiB makes it about 24 KiB. (A plain net/http handler's goroutine
	// keeps 8 KiB without the race detector and grows to 16 KiB with it: it
	// is logged for comparison, not judged.)
	const bound = 20 << 10
	base := perStream(raw)
	got := perStream(ginstream)
	t.Logf("goroutine stacks per waiting stream, both sides: net/http %.0f B, ginstream %.0f B", base, got)
	if got > bound {
		t.Errorf("a waiting stream holds %.0f B of goroutine stacks, over %d B: its handler's goroutine grew to 16 KiB (net/http's: %.0f B)", got, bound, base)
	}
}

// stackInuse returns the bytes of goroutine stacks in use.
func stackInuse() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.StackInuse)
}
