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

func TestCI(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  bool
	}{
		{"", false}, {"0", false}, {"false", false}, {"FALSE", false}, {"f", false},
		{"no", false}, {"No", false}, {"n", false}, {"off", false}, {" false ", false},
		{"true", true}, {"1", true}, {"yes", true}, {"github", true},
	} {
		t.Setenv("CI", tt.value)
		if got := CI(); got != tt.want {
			t.Errorf("CI=%q: CI() = %v, want %v", tt.value, got, tt.want)
		}
	}
}
