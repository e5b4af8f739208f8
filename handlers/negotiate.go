package handlers

import (
	"net/http"
	"strconv"
	"strings"
)

// prefersNDJSON reports whether an Accept header ranks NDJSON
// (application/x-ndjson, or application/json) above CSV (text/csv). Each is
// ranked by the quality of the most specific media range matching it.
func prefersNDJSON(accept string) bool {
	if accept == "" {
		return false
	}
	ndjson := max(quality(accept, "application", "x-ndjson"), quality(accept, "application", "json"))
	return ndjson > quality(accept, "text", "csv")
}

// quality returns the quality (0 to 1) that an Accept header gives the
// media type typ/sub: that of the most specific range matching it (typ/sub,
// then typ/*, then */*), or 0 if none does.
func quality(accept, typ, sub string) float64 {
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

// WantsEventStream reports whether a request asks for Server-Sent Events:
// whether its Accept header ranks text/event-stream above text/plain. A
// browser's EventSource, which sends "Accept: text/event-stream", does;
// curl and fetch, which send "*/*", do not. Each type is ranked by the
// quality of the most specific media range matching it. A handler that
// answers both ways should add "Vary: Accept" to its responses.
func WantsEventStream(r *http.Request) bool {
	accept := strings.Join(r.Header.Values("Accept"), ",")
	return quality(accept, "text", "event-stream") > quality(accept, "text", "plain")
}
