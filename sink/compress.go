package sink

import (
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// compressor compresses a stream and can flush what it has compressed so
// far, so that a compressed stream still streams.
type compressor interface {
	io.Writer
	// Flush writes out everything written so far, ending the current
	// block, without ending the stream.
	Flush() error
	// Close ends the compressed stream, writing its trailer.
	Close() error
	// release returns the compressor to its pool.
	release()
}

// negotiateEncoding returns the content coding to use for a response to a
// request with the given Accept-Encoding header values: of gzip and zstd the
// one with the higher weight, gzip on a tie (it compresses about twice as
// fast; see BenchmarkCompressors), or "" for none (RFC 9110, section
// 12.5.3).
func negotiateEncoding(accept []string) string {
	q := map[string]float64{}
	for _, header := range accept {
		for _, item := range strings.Split(header, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(item), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			weight := 1.0
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") { // "q" alone is malformed: 0
					weight = parseQValue(strings.TrimSpace(v))
				}
			}
			if coding == "x-gzip" {
				coding = "gzip"
			}
			if _, seen := q[coding]; !seen || weight > q[coding] {
				q[coding] = weight
			}
		}
	}
	best, bestWeight := "", 0.0
	for _, coding := range []string{"gzip", "zstd"} { // on a tie, gzip: faster
		w, ok := q[coding]
		if !ok {
			w = q["*"] // zero if absent
		}
		if w > bestWeight {
			best, bestWeight = coding, w
		}
	}
	return best
}

// parseQValue returns the weight of an RFC 9110 qvalue ("0", "0.5",
// "1.000": at most three decimals, at most 1), or 0 for anything else: a
// malformed weight accepts nothing.
func parseQValue(s string) float64 {
	if len(s) == 0 || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0
	}
	if len(s) == 1 {
		return float64(s[0] - '0')
	}
	if s[1] != '.' {
		return 0
	}
	w, scale := float64(s[0]-'0'), 0.1
	for i := 2; i < len(s); i++ {
		d := s[i]
		if d < '0' || d > '9' || (s[0] == '1' && d != '0') {
			return 0
		}
		w += float64(d-'0') * scale
		scale /= 10
	}
	return w
}

// newCompressor returns a compressor for coding writing to w, from a pool.
func newCompressor(coding string, w io.Writer) compressor {
	switch coding {
	case "zstd":
		z := zstdPool.Get().(*zstdCompressor)
		z.Reset(w)
		return z
	case "gzip":
		g := gzipPool.Get().(*gzipCompressor)
		g.Reset(w)
		return g
	}
	return nil
}

// gzipCompressor is a pooled gzip writer. klauspost's gzip is a drop-in
// replacement for compress/gzip and several times faster at the fast levels
// (see docs/BENCHMARKS.md).
type gzipCompressor struct{ *gzip.Writer }

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // BestSpeed is a valid level
	return &gzipCompressor{w}
}}

func (g *gzipCompressor) release() {
	g.Reset(nil)
	gzipPool.Put(g)
}

// zstdCompressor is a pooled zstd encoder, set up for streaming: fastest
// SpeedDefault (SpeedFastest leaves text
// like a CSV export almost uncompressed when flushed per batch), no
// goroutines of its own, little memory.
type zstdCompressor struct{ *zstd.Encoder }

var zstdPool = sync.Pool{New: func() any {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true),
		zstd.WithWindowSize(1<<20),
	)
	if err != nil {
		panic("sink: zstd options: " + err.Error()) // fixed options: a programming error
	}
	return &zstdCompressor{enc}
}}

func (z *zstdCompressor) release() {
	z.Reset(nil)
	zstdPool.Put(z)
}

// countingWriter counts the bytes its writer accepts.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// setCompression sets the headers of a compressed response and returns the
// coding chosen for r, or "" to send the stream as it is.
func setCompression(h http.Header, r *http.Request) string {
	h.Add("Vary", "Accept-Encoding")
	if h.Get("Content-Encoding") != "" {
		return "" // the handler's content is encoded already
	}
	coding := negotiateEncoding(r.Header.Values("Accept-Encoding"))
	if coding != "" {
		h.Set("Content-Encoding", coding)
		h.Del("Content-Length")
		// A strong validator of the identity body is wrong for another
		// coding (RFC 9110, section 8.8.3).
		if etag := h.Get("Etag"); strings.HasPrefix(etag, `"`) {
			h.Set("Etag", "W/"+etag)
		}
	}
	return coding
}
