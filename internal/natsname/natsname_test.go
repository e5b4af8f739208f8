package natsname

import (
	"regexp"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct{ name, want string }{
		{"ticks", "ticks"},
		{"Orders2", "Orders2"},
		{"", "_"},
		{"a.b", "a_2Eb"},
		{"a_2Eb", "a_5F2Eb"},
		{"user/42 *>", "user_2F42_20_2A_3E"},
		{"é", "_C3_A9"},
		{"\x00\xff", "_00_FF"},
	}
	for _, tt := range tests {
		if got := Escape(tt.name); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// token matches what a subject token, a stream name and a key-value key
// may hold (here, stricter: letters, digits and '_').
var token = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// FuzzEscape checks that distinct names get distinct, valid tokens.
func FuzzEscape(f *testing.F) {
	f.Add("ticks", "tick")
	f.Add("a.b", "a_2Eb")
	f.Add("", "_")
	f.Fuzz(func(t *testing.T, a, b string) {
		ea, eb := Escape(a), Escape(b)
		if !token.MatchString(ea) {
			t.Fatalf("Escape(%q) = %q, not a token", a, ea)
		}
		if (a == b) != (ea == eb) {
			t.Fatalf("names %q and %q: tokens %q and %q", a, b, ea, eb)
		}
	})
}
