package sink

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

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
		{"weight in exponent form", []string{"gzip;q=1e-1"}, ""},
		{"weight with four decimals", []string{"gzip;q=0.0001"}, ""},
		{"weight of three decimals", []string{"zstd;q=0.001"}, "zstd"},
		{"one point zero", []string{"gzip;q=0.9, zstd;q=1.000"}, "zstd"},
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

// negotiateModel is the test's own statement of RFC 9110, section
// 12.5.3, for the two codings the sink offers: a coding's weight is the
// highest qvalue given to it by name (x-gzip naming gzip), else the highest
// given to "*", else 0 (not acceptable); a weight that is not a qvalue
// ("0" to "1", three decimals at most) is 0; the heavier of gzip and zstd
// wins if it is above 0, gzip on a tie.
func negotiateModel(header string) string {
	weights := map[string][]float64{}
	for _, element := range strings.Split(header, ",") {
		parts := strings.Split(element, ";")
		coding := strings.ToLower(strings.TrimSpace(parts[0]))
		if coding == "x-gzip" {
			coding = "gzip"
		}
		q := 1.0
		for _, param := range parts[1:] {
			name, value, _ := strings.Cut(param, "=")
			if strings.EqualFold(strings.TrimSpace(name), "q") {
				q = 0
				if v := strings.TrimSpace(value); qvalueSyntax.MatchString(v) {
					q, _ = strconv.ParseFloat(v, 64)
				}
			}
		}
		weights[coding] = append(weights[coding], q)
	}
	weight := func(coding string) float64 {
		for _, name := range []string{coding, "*"} {
			if ws, ok := weights[name]; ok {
				return slices.Max(ws)
			}
		}
		return 0
	}
	switch gzip, zstd := weight("gzip"), weight("zstd"); {
	case gzip == 0 && zstd == 0:
		return ""
	case zstd > gzip:
		return "zstd"
	default:
		return "gzip"
	}
}

// qvalueSyntax is RFC 9110's qvalue.
var qvalueSyntax = regexp.MustCompile(`^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$`)

// FuzzNegotiateEncoding checks the sink's content negotiation against the
// model of RFC 9110 above, for any Accept-Encoding header: in particular it
// never chooses a coding given q=0, nor one that only "*;q=0" covers.
func FuzzNegotiateEncoding(f *testing.F) {
	for _, s := range []string{"gzip", "zstd;q=0.1, gzip;q=1", "*;q=0", ";;,,=q", "gzip;q=0;q=1", "*, gzip;q=0", "GZIP;Q=0.001", "zstd;q=1.0001", "gzip;q=1e-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		if got, want := negotiateEncoding([]string{header}), negotiateModel(header); got != want {
			t.Fatalf("negotiateEncoding(%q) = %q; RFC 9110 says %q", header, got, want)
		}
	})
}
