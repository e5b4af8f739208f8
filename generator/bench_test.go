package generator_test

import (
	"context"
	"io"
	"testing"

	"github.com/ginstream/ginstream/generator"
)

// BenchmarkStream measures moving items from one producer to a consumer
// that receives them in batches: the buffer's cost per item (ns/op is per
// item).
func BenchmarkStream(b *testing.B) {
	b.ReportAllocs()
	s := generator.Start(context.Background(), generator.Options{}, generator.Count(b.N, 0))
	defer s.Close()
	var batch []int
	n := 0
	for {
		var err error
		batch, err = s.Next(batch)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n += len(batch)
	}
	if n != b.N {
		b.Fatalf("received %d items, want %d", n, b.N)
	}
}
