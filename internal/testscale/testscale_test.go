package testscale

import "testing"

func TestPick(t *testing.T) {
	got := Pick(1, 2)
	want := 1
	if Long {
		want = 2
	}
	if got != want {
		t.Errorf("Pick(1, 2) = %d with Long = %v, want %d", got, Long, want)
	}
}
