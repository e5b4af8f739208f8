package sink

import (
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// BenchmarkCompressors compresses a CSV-like stream in 32 KiB batches,
// flushing after each as Writer does, with each candidate: the standard
// library's gzip, klauspost's gzip and klauspost's zstd (the last two are
// what Writer.Compress uses). It reports MB/s of input and the compressed
// size as a percentage of the input.
func BenchmarkCompressors(b *testing.B) {
	var text []byte
	for i := range 200_000 {
		text = fmt.Appendf(text, "%d,user %d,\"Doe, Jane \"\"JD\"\"\",jane.doe%d@example.com,%s\n",
			i, i*7919%100_000, i, strconv.FormatFloat(float64(i)*1.25, 'f', 2, 64))
	}
	const batch = 32 << 10
	candidates := []struct {
		name string
		make func(io.Writer) compressor
	}{
		{"stdlib-gzip-bestspeed", func(w io.Writer) compressor {
			g, _ := stdgzip.NewWriterLevel(w, stdgzip.BestSpeed)
			return stdGzip{g}
		}},
		{"klauspost-gzip-bestspeed", func(w io.Writer) compressor { return newCompressor("gzip", w) }},
		{"klauspost-zstd-default", func(w io.Writer) compressor { return newCompressor("zstd", w) }},
		{"klauspost-zstd-fastest", func(w io.Writer) compressor {
			enc, _ := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
				zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(1<<20))
			return &zstdCompressor{enc}
		}},
	}
	for _, c := range candidates {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			var out countingWriter
			out.w = io.Discard
			for b.Loop() {
				out.n = 0
				z := c.make(&out)
				for i := 0; i < len(text); i += batch {
					if _, err := z.Write(text[i:min(i+batch, len(text))]); err != nil {
						b.Fatal(err)
					}
					if err := z.Flush(); err != nil {
						b.Fatal(err)
					}
				}
				if err := z.Close(); err != nil {
					b.Fatal(err)
				}
				z.release()
			}
			b.ReportMetric(100*float64(out.n)/float64(len(text)), "%size")
		})
	}
}

// stdGzip adapts the standard library's gzip.Writer for the benchmark.
type stdGzip struct{ *stdgzip.Writer }

func (stdGzip) release() {}
