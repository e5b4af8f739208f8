package sink

import "testing"

func TestNegotiateEncoding(t *testing.T) {
	tests := []struct {
		name   string
		accept []string
		want   string
	}{
		{"no header", nil, ""},
		{"empty", []string{""}, ""},
		{"identity only", []string{"identity"}, ""},
		{"gzip", []string{"gzip"}, "gzip"},
		{"x-gzip", []string{"x-gzip"}, "gzip"},
		{"gzip on a tie", []string{"gzip, deflate, br, zstd"}, "gzip"},
		{"zstd by weight", []string{"gzip;q=0.5, zstd"}, "zstd"},
		{"zstd alone", []string{"zstd"}, "zstd"},
		{"case and spaces", []string{" GZip ;Q=0.5 "}, "gzip"},
		{"zstd refused", []string{"zstd;q=0, gzip"}, "gzip"},
		{"gzip refused", []string{"gzip;q=0"}, ""},
		{"both refused", []string{"zstd;q=0,gzip;q=0.0"}, ""},
		{"star", []string{"*"}, "gzip"},
		{"star refused", []string{"*;q=0"}, ""},
		{"star but gzip refused", []string{"*, gzip;q=0"}, "zstd"},
		{"malformed weight", []string{"gzip;q=abc"}, ""},
		{"weight above 1", []string{"gzip;q=2"}, ""},
		{"several headers", []string{"br", "gzip;q=0.3"}, "gzip"},
		{"repeated coding keeps the best weight", []string{"gzip;q=0, gzip;q=0.5"}, "gzip"},
		{"deflate and br only", []string{"deflate, br"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := negotiateEncoding(tt.accept); got != tt.want {
				t.Errorf("negotiateEncoding(%q) = %q, want %q", tt.accept, got, tt.want)
			}
		})
	}
}

// FuzzNegotiateEncoding checks that any Accept-Encoding header gives one of
// the three answers, and never a coding the header refuses outright.
func FuzzNegotiateEncoding(f *testing.F) {
	for _, s := range []string{"gzip", "zstd;q=0.1, gzip;q=1", "*;q=0", ";;,,=q", "gzip;q=0;q=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		got := negotiateEncoding([]string{header})
		switch got {
		case "", "gzip", "zstd":
		default:
			t.Fatalf("negotiateEncoding(%q) = %q", header, got)
		}
		if got != "" && negotiateEncoding([]string{header + "," + got + ";q=0," + "*;q=0"}) == got &&
			negotiateEncoding([]string{got + ";q=0"}) == got {
			t.Fatalf("%q chosen although refused", got)
		}
	})
}
