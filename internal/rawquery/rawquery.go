// Package rawquery reads one parameter of a URL's query string without
// parsing all of it into a url.Values: a map, a slice and strings for
// every parameter, garbage for a handler that reads one value once per
// request, and that an event stream's handler leaves interleaved with the
// memory it keeps for as long as its client is connected.
package rawquery

import (
	"net/url"
	"strings"
)

// maxPlain is the most parameters a query string may have for Get to read
// it without net/url: far below the limit net/url enforces by default
// (10,000; GODEBUG urlmaxqueryparams), so that Get fails where
// url.ParseQuery does.
const maxPlain = 64

// Get returns the first value of the parameter key in rawQuery and
// whether the parameter is there, with the error url.ParseQuery finds in
// rawQuery (ParseQuery and then a lookup of key return the same). A query
// string with nothing to unescape (no '%' or '+'), no ';' and at most
// maxPlain parameters is read in place, allocating nothing; any other is
// given to url.ParseQuery.
func Get(rawQuery, key string) (value string, ok bool, err error) {
	if strings.ContainsAny(rawQuery, "%+;") || strings.Count(rawQuery, "&") >= maxPlain {
		values, err := url.ParseQuery(rawQuery)
		if v := values[key]; len(v) > 0 {
			return v[0], true, err
		}
		return "", false, err
	}
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		if k, v, _ := strings.Cut(pair, "="); k == key && pair != "" {
			return v, true, nil
		}
	}
	return "", false, nil
}
