// Package accept ranks the media types an HTTP Accept header asks for
// (RFC 9110, section 12.5.1), for the handlers and runs that answer in
// more than one format: each type is ranked by the quality of the most
// specific media range matching it.
package accept

import (
	"strconv"
	"strings"
)

// Quality returns the quality (0 to 1) that an Accept header gives the
// media type typ/sub: that of the most specific range matching it (typ/sub,
// then typ/*, then */*), or 0 if none does.
func Quality(accept, typ, sub string) float64 {
	q, specificity := 0.0, 0
	for r := range strings.SplitSeq(accept, ",") {
		mediaRange, params, _ := strings.Cut(r, ";")
		rt, rs, _ := strings.Cut(strings.TrimSpace(mediaRange), "/")
		s := 0
		switch {
		case strings.EqualFold(rt, typ) && strings.EqualFold(rs, sub):
			s = 3
		case strings.EqualFold(rt, typ) && rs == "*":
			s = 2
		case rt == "*" && rs == "*":
			s = 1
		}
		if s <= specificity {
			continue
		}
		rq, ok := rangeQuality(params)
		if !ok {
			continue // a malformed range counts as absent
		}
		q, specificity = rq, s
	}
	return q
}

// rangeQuality returns the q parameter of a media range's parameters, 1
// if it has none; false if it is malformed.
func rangeQuality(params string) (float64, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(q >= 0 && q <= 1) {
			return 0, false
		}
		return q, true
	}
	return 1, true
}
