package sink

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
)

// TestCapacity: a Writer of chunks (the Bytes encoder) buffers
// DefaultChunkCapacity of them by default, any other the generator's
// default; a Capacity set is kept.
func TestCapacity(t *testing.T) {
	for _, tt := range []struct {
		name string
		got  int
		want int
	}{
		{"bytes", (&Writer[[]byte]{Encoder: Bytes{}}).capacity(), DefaultChunkCapacity},
		{"bytes with a capacity", (&Writer[[]byte]{Encoder: Bytes{}, Capacity: 100}).capacity(), 100},
		{"lines", (&Writer[string]{Encoder: Lines[string]{}}).capacity(), 0},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: capacity %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if generator.DefaultCapacity <= DefaultChunkCapacity {
		t.Errorf("DefaultChunkCapacity %d is not below generator's %d", DefaultChunkCapacity, generator.DefaultCapacity)
	}
}

// TestOpenHoldsNoBuffer: an open stream keeps no encode buffer between its
// items (it borrows one for each write), however large its last item was,
// and its items arrive whole.
func TestOpenHoldsNoBuffer(t *testing.T) {
	w := &Writer[string]{Encoder: Lines[string]{}}
	big := strings.Repeat("x", 10_000)
	held := make(chan int, 2) // the buffer's capacity after each item
	r := gin.New()
	r.GET("/", func(c *gin.Context) {
		o, _ := w.Open(c)
		var err error
		for _, item := range []string{big, "small"} {
			if err = o.Yield(item); err != nil {
				break
			}
			o.s.mu.Lock()
			held <- cap(o.s.buf)
			o.s.mu.Unlock()
		}
		o.Close(err)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != big+"\nsmall\n" {
		t.Fatalf("body of %d bytes, %v", len(body), err)
	}
	for i := range 2 {
		if c := <-held; c != 0 {
			t.Errorf("after item %d the stream holds a buffer of %d bytes", i+1, c)
		}
	}
}
