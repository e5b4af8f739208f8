package generator_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ginstream/ginstream/generator"
)

// TestReadChunks checks that the chunks of a reader put together are its
// bytes, that no chunk is longer than asked, that each is yielded as soon
// as a Read returns it, and that no two chunks share memory.
func TestReadChunks(t *testing.T) {
	data := []byte(strings.Repeat("0123456789abcdef", 1000)) // 16,000 bytes
	for _, tc := range []struct {
		name   string
		r      func() io.Reader
		size   int
		chunks int // the chunks expected, or 0 not to check
	}{
		{"whole chunks", func() io.Reader { return bytes.NewReader(data) }, 1000, 16},
		{"a short last chunk", func() io.Reader { return bytes.NewReader(data) }, 3000, 6},
		{"default size", func() io.Reader { return bytes.NewReader(data) }, 0, 1},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:100])) }, 64, 100},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }, 4096, 0},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }, 5000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r()
			want := data
			if tc.name == "one byte at a time" {
				want = data[:100]
			}
			got, err := call(context.Background(), generator.ReadChunks(r, tc.size), -1)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			size := tc.size
			if size == 0 {
				size = generator.DefaultChunkSize
			}
			for i, c := range got {
				if len(c) == 0 || len(c) > size {
					t.Fatalf("chunk %d has %d bytes; want 1 to %d", i, len(c), size)
				}
			}
			if tc.chunks > 0 && len(got) != tc.chunks {
				t.Errorf("%d chunks; want %d", len(got), tc.chunks)
			}
			if joined := bytes.Join(got, nil); !bytes.Equal(joined, want) {
				t.Fatalf("the chunks make %d bytes that differ from the reader's %d", len(joined), len(want))
			}
			// Each chunk is the consumer's: changing one changes no other.
			for i := range got {
				for j := range got[i] {
					got[i][j] = '!'
				}
			}
			for i, c := range got {
				if !bytes.Equal(c, bytes.Repeat([]byte("!"), len(c))) {
					t.Fatalf("chunk %d shares memory with another", i)
				}
			}
		})
	}
}

// TestReadChunksReaderError checks that a read error ends the producer with
// that error, after the bytes read before it.
func TestReadChunksReaderError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("hello"), iotest.ErrReader(boom))
	got, err := call(context.Background(), generator.ReadChunks(r, 4), -1)
	if !errors.Is(err, boom) {
		t.Fatalf("error %v; want one matching %v", err, boom)
	}
	if joined := string(bytes.Join(got, nil)); joined != "hello" {
		t.Fatalf("yielded %q before the error; want %q", joined, "hello")
	}
}

// TestReadChunksStopsWhenYieldFails checks that the producer returns
// yield's error and reads no further.
func TestReadChunksStopsWhenYieldFails(t *testing.T) {
	r := strings.NewReader("abcdefghij")
	got, err := call(context.Background(), generator.ReadChunks(r, 2), 2)
	if !errors.Is(err, errRefused) {
		t.Fatalf("error %v; want yield's", err)
	}
	if len(got) != 2 || r.Len() != 4 {
		t.Fatalf("took %d chunks and left %d bytes unread; want 2 and 4 (no read after yield failed)", len(got), r.Len())
	}
}
