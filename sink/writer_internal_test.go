package sink

import (
	"testing"

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
