package ginstream_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// decoders read a response body in each content coding Writer.Compress
// produces.
var decoders = map[string]func(io.Reader) (io.Reader, error){
	"gzip": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
	"zstd": func(r io.Reader) (io.Reader, error) {
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	},
}

// getEncoded requests url accepting only coding, with the client's own
// transparent decompression out of the way.
func getEncoded(t *testing.T, client *http.Client, p protocol, url, coding string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", coding)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.ProtoMajor != p.major() {
		t.Fatalf("response over %s, want %s", resp.Proto, p.name)
	}
	if got := resp.Header.Get("Content-Encoding"); got != coding {
		t.Fatalf("Content-Encoding %q, want %q", got, coding)
	}
	if got := resp.Header.Get("Vary"); got != "Accept-Encoding" {
		t.Errorf("Vary %q, want Accept-Encoding", got)
	}
	return resp
}

// countingBody counts the compressed bytes read from a body.
type countingBody struct {
	r io.Reader
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestCompressedStreamIsExact: a compressed stream decodes to exactly the
// bytes of the uncompressed one, and the report counts the bytes on the
// wire.
func TestCompressedStreamIsExact(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		for coding, decode := range decoders {
			t.Run(coding, func(t *testing.T) {
				const n = 50_000
				rep := newReports()
				w := newWriter(sink.Lines[int]{}, rep)
				w.Compress = true
				engine := newEngine(false)
				engine.GET("/n", func(c *gin.Context) { w.Stream(c, generator.Count(n, 0)) })
				client, url := serve(t, p, engine)

				resp := getEncoded(t, client, p, url+"/n", coding)
				wire := &countingBody{r: resp.Body}
				r, err := decode(wire)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("decoding: %v", err)
				}
				var want strings.Builder
				for i := 1; i <= n; i++ {
					fmt.Fprintf(&want, "%d\n", i)
				}
				if string(got) != want.String() {
					t.Fatalf("decoded %d bytes, not the %d bytes streamed", len(got), want.Len())
				}
				io.Copy(io.Discard, wire) // the decoder may stop before the trailer's end
				r2 := rep.next(t)
				if r2.Outcome != sink.Completed || r2.Items != n || r2.Bytes != wire.n {
					t.Errorf("report: %v, %d items, %d bytes; want completed, %d items, %d bytes (as received)",
						r2.Outcome, r2.Items, r2.Bytes, n, wire.n)
				}
				if r2.Bytes >= int64(want.Len()) {
					t.Errorf("%d bytes on the wire for %d bytes of text: not compressed", r2.Bytes, want.Len())
				}
			})
		}
	})
}

// TestCompressedStreamIsIncremental: with compression on, each item still
// reaches the client before the next is produced — the compressor is
// flushed with every batch.
func TestCompressedStreamIsIncremental(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		for coding, decode := range decoders {
			t.Run(coding, func(t *testing.T) {
				const n = 10
				received := make(chan int)
				w := newWriter(sink.Lines[int]{}, newReports())
				w.Compress = true
				engine := newEngine(false)
				engine.GET("/paced", func(c *gin.Context) {
					w.Stream(c, func(ctx context.Context, yield func(int) error) error {
						for i := 1; i <= n; i++ {
							if err := yield(i); err != nil {
								return err
							}
							select {
							case <-received:
							case <-ctx.Done():
								return context.Cause(ctx)
							}
						}
						return nil
					})
				})
				client, url := serve(t, p, engine)
				resp := getEncoded(t, client, p, url+"/paced", coding)
				r, err := decode(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				lines := bufio.NewReader(r)
				for i := 1; i <= n; i++ {
					line, err := lines.ReadString('\n')
					if err != nil {
						t.Fatalf("item %d did not arrive before the next was produced: %v", i, err)
					}
					if line != strconv.Itoa(i)+"\n" {
						t.Fatalf("item %d: got %q", i, line)
					}
					received <- i
				}
			})
		}
	})
}

// TestCompressionRespectsTheRequest: no Accept-Encoding, or one that refuses
// both codings, gets the stream as it is; a handler's own Content-Encoding
// is left alone.
func TestCompressionRespectsTheRequest(t *testing.T) {
	forEachProtocol(t, func(t *testing.T, p protocol) {
		w := newWriter(sink.Lines[string]{}, newReports())
		w.Compress = true
		engine := newEngine(false)
		engine.GET("/plain", func(c *gin.Context) { w.Stream(c, generator.Slice([]string{"a", "b"})) })
		engine.GET("/encoded", func(c *gin.Context) {
			c.Header("Content-Encoding", "br") // pretend the items are compressed already
			w.Stream(c, generator.Slice([]string{"x"}))
		})
		client, url := serve(t, p, engine)
		for _, tc := range []struct{ path, accept, wantEnc, wantBody string }{
			{"/plain", "", "", "a\nb\n"},
			{"/plain", "gzip;q=0, zstd;q=0", "", "a\nb\n"},
			{"/plain", "br", "", "a\nb\n"},
			{"/encoded", "gzip, zstd, br", "br", "x\n"},
		} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+tc.path, nil)
			req.Header.Set("Accept-Encoding", tc.accept)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != tc.wantBody || resp.Header.Get("Content-Encoding") != tc.wantEnc {
				t.Errorf("%s with Accept-Encoding %q: %q (%v), Content-Encoding %q; want %q, %q",
					tc.path, tc.accept, body, err, resp.Header.Get("Content-Encoding"), tc.wantBody, tc.wantEnc)
			}
		}
	})
}

// TestCompressedFailureIsDetectable: a producer failing mid-stream still
// leaves the client with a failed transfer when the body is compressed.
func TestCompressedFailureIsDetectable(t *testing.T) {
	forEachSetup(t, func(t *testing.T, p protocol, recovery bool) {
		w := newWriter(sink.Lines[int]{}, newReports())
		w.Compress = true
		engine := newEngine(recovery)
		engine.GET("/fail", func(c *gin.Context) {
			w.Stream(c, func(ctx context.Context, yield func(int) error) error {
				for i := range 1000 {
					if err := yield(i); err != nil {
						return err
					}
				}
				return fmt.Errorf("database went away")
			})
		})
		client, url := serve(t, p, engine)
		resp := getEncoded(t, client, p, url+"/fail", "gzip")
		_, err := io.ReadAll(resp.Body)
		if err == nil {
			t.Fatal("the compressed body ended cleanly although the producer failed")
		}
	})
}
