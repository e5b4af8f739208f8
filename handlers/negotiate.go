package handlers

import (
	"net/http"
	"strings"

	"github.com/ginstream/ginstream/internal/accept"
)

// prefersNDJSON reports whether an Accept header ranks NDJSON
// (application/x-ndjson, or application/json) above CSV (text/csv). Each is
// ranked by the quality of the most specific media range matching it.
func prefersNDJSON(header string) bool {
	if header == "" {
		return false
	}
	ndjson := max(accept.Quality(header, "application", "x-ndjson"), accept.Quality(header, "application", "json"))
	return ndjson > accept.Quality(header, "text", "csv")
}

// WantsEventStream reports whether a request asks for Server-Sent Events:
// whether its Accept header ranks text/event-stream above text/plain. A
// browser's EventSource, which sends "Accept: text/event-stream", does;
// curl and fetch, which send "*/*", do not. Each type is ranked by the
// quality of the most specific media range matching it. A handler that
// answers both ways should add "Vary: Accept" to its responses.
func WantsEventStream(r *http.Request) bool {
	header := strings.Join(r.Header.Values("Accept"), ",")
	return accept.Quality(header, "text", "event-stream") > accept.Quality(header, "text", "plain")
}
