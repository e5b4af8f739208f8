package handlers_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
)

// The parameter of these tests: n, 7 when absent, from -5 to 1000.
const (
	paramName          = "n"
	paramDefault int64 = 7
	paramMin     int64 = -5
	paramMax     int64 = 1000
)

// paramOutcome is what a handler calling IntQuery saw.
type paramOutcome struct {
	ok         bool
	aborted    bool
	paramError bool // c.Errors holds a *ParamError
}

// paramEngine returns an engine whose GET /n answers with the value of
// IntQuery for n, and sends what the handler saw to seen (if not nil).
func paramEngine(seen chan<- paramOutcome) *gin.Engine {
	engine := gin.New()
	engine.GET("/n", func(c *gin.Context) {
		v, ok := handlers.IntQuery(c, paramName, paramDefault, paramMin, paramMax)
		if seen != nil {
			var pe *handlers.ParamError
			seen <- paramOutcome{ok, c.IsAborted(), len(c.Errors) == 1 && errors.As(c.Errors.Last().Err, &pe)}
		}
		if ok {
			c.String(http.StatusOK, "%d", v)
		}
	})
	return engine
}

// TestIntQuery: IntQuery gives the default for an absent parameter and
// any decimal integer within the range, bounds included; anything else
// aborts the request with 400 and a JSON ParamError saying which
// parameter, what it was, and the range, and records the error on the
// context.
func TestIntQuery(t *testing.T) {
	long := strings.Repeat("1", 10_000)
	tests := []struct {
		name, query string
		want        int64  // the value, if ok
		bad         bool   // a 400 is expected
		shown       string // the value the error shows
	}{
		{"absent: the default", "", paramDefault, false, ""},
		{"another parameter only", "m=3", paramDefault, false, ""},
		{"a value", "n=42", 42, false, ""},
		{"zero", "n=0", 0, false, ""},
		{"negative zero", "n=-0", 0, false, ""},
		{"the least", "n=-5", -5, false, ""},
		{"the most", "n=1000", 1000, false, ""},
		{"a leading plus", "n=%2B5", 5, false, ""},
		{"leading zeros", "n=0012", 12, false, ""},
		{"the first of repeated values", "n=3&n=abc", 3, false, ""},
		{"below the least", "n=-6", 0, true, "-6"},
		{"above the most", "n=1001", 0, true, "1001"},
		{"empty", "n=", 0, true, ""},
		{"no equals sign", "n", 0, true, ""},
		{"a word", "n=abc", 0, true, "abc"},
		{"a fraction", "n=1.5", 0, true, "1.5"},
		{"an exponent", "n=1e3", 0, true, "1e3"},
		{"hexadecimal", "n=0x10", 0, true, "0x10"},
		{"underscores", "n=1_000", 0, true, "1_000"},
		{"a leading space", "n=%205", 0, true, " 5"},
		{"a trailing space", "n=5%20", 0, true, "5 "},
		{"a plus that is a space", "n=+5", 0, true, " 5"},
		{"beyond int64", "n=9223372036854775808", 0, true, "9223372036854775808"},
		{"beyond int64, negative", "n=-9223372036854775809", 0, true, "-9223372036854775809"},
		{"10,000 digits, shown cut to 64 bytes", "n=" + long, 0, true, long[:64] + "…"},
		{"full-width digits", "n=" + url.QueryEscape("５"), 0, true, "５"},
		{"invalid UTF-8, shown replaced", "n=%FF1", 0, true, "\uFFFD1"},
		{"the first of repeated values is bad", "n=abc&n=3", 0, true, "abc"},
	}
	seen := make(chan paramOutcome, 1)
	client, base := serveOver(t, httpVersions[0], paramEngine(seen))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := exportBody(t, client, base+"/n?"+tt.query)
			got := <-seen
			if !tt.bad {
				if resp.StatusCode != http.StatusOK || string(body) != strconv.FormatInt(tt.want, 10) || !got.ok {
					t.Errorf("%d %q, ok=%v; want 200 %d", resp.StatusCode, body, got.ok, tt.want)
				}
				return
			}
			pe := checkParamError(t, resp, body, paramName, paramMin, paramMax)
			if pe.Value != tt.shown {
				t.Errorf("value %q, want %q", pe.Value, tt.shown)
			}
			if want := `query parameter "n" must be an integer from -5 to 1000`; pe.Msg != want {
				t.Errorf("message %q, want %q", pe.Msg, want)
			}
			if got.ok || !got.aborted || !got.paramError {
				t.Errorf("IntQuery: ok=%v, context aborted=%v, ParamError recorded=%v; want false, true, true", got.ok, got.aborted, got.paramError)
			}
		})
	}
}

// TestParamErrorJSON pins the JSON form of ParamError, the body clients
// parse.
func TestParamErrorJSON(t *testing.T) {
	pe := &handlers.ParamError{Param: "count", Value: "0", Min: 1, Max: 10, Msg: "bad"}
	b, err := json.Marshal(pe)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"parameter":"count","value":"0","min":1,"max":10,"error":"bad"}`; string(b) != want {
		t.Errorf("%s, want %s", b, want)
	}
	if pe.Error() != "bad" {
		t.Errorf("Error() = %q, want the message", pe.Error())
	}
}

// decimal matches what IntQuery accepts as an integer.
var decimal = regexp.MustCompile(`^[+-]?[0-9]+$`)

// FuzzIntQuery feeds IntQuery raw query strings. Whatever the query, the
// answer is never a server error: it is the parameter's value when the
// first value of n (as net/url reads the query, which gin does) is a
// decimal integer within the range, the default when n is absent, and
// otherwise 400 with a JSON ParamError for n that shows the value; a query
// string that net/url cannot parse is refused with 400 as a whole. The
// requests go straight to the engine, not over the network, so that the
// fuzzer can send query strings that no HTTP client would.
func FuzzIntQuery(f *testing.F) {
	for _, seed := range []string{
		"", "n=5", "n=-5", "n=1000", "n=1001", "n=-6", "n=abc", "n=", "n", "n=%2B5", "n=+5",
		"n=1e3", "n=5&n=6", "n=x&n=6", "n=5;x", "n=%zz", "x=1&n=007", "n=-0",
		"n=" + strings.Repeat("9", 100), "n=%FF%FE", "n=５", "&&n=1&&", "N=5", "n%3D5",
	} {
		f.Add(seed)
	}
	engine := paramEngine(nil)
	f.Fuzz(func(t *testing.T, raw string) {
		req := httptest.NewRequest(http.MethodGet, "/n", nil)
		req.URL.RawQuery = raw
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("query %q: status %d: %s", raw, rec.Code, rec.Body)
		}

		values, malformed := url.ParseQuery(raw)
		first, present := values[paramName]
		var want *big.Int
		switch {
		case malformed != nil:
			// refused: want stays nil
		case !present:
			want = big.NewInt(paramDefault)
		case decimal.MatchString(first[0]):
			if v, _ := new(big.Int).SetString(strings.TrimPrefix(first[0], "+"), 10); v.Cmp(big.NewInt(paramMin)) >= 0 && v.Cmp(big.NewInt(paramMax)) <= 0 {
				want = v
			}
		}
		if want != nil {
			if rec.Code != http.StatusOK || rec.Body.String() != want.String() {
				t.Fatalf("query %q: %d %q, want 200 %s", raw, rec.Code, rec.Body, want)
			}
			return
		}

		if rec.Code != http.StatusBadRequest {
			t.Fatalf("query %q: status %d (%q), want 400", raw, rec.Code, rec.Body)
		}
		var pe handlers.ParamError
		if err := json.Unmarshal(rec.Body.Bytes(), &pe); err != nil {
			t.Fatalf("query %q: body %q: %v", raw, rec.Body, err)
		}
		shown := ""
		if malformed == nil {
			shown = first[0]
		}
		if len(shown) > 64 {
			shown = shown[:64] + "…"
		}
		var wantShown string // as it reads back from JSON, invalid UTF-8 replaced
		b, _ := json.Marshal(shown)
		_ = json.Unmarshal(b, &wantShown)
		if pe.Param != paramName || pe.Min != paramMin || pe.Max != paramMax || pe.Value != wantShown || !strings.Contains(pe.Msg, `"n"`) {
			t.Fatalf("query %q: error %+v, want one for n from %d to %d showing %q", raw, pe, paramMin, paramMax, wantShown)
		}
	})
}
