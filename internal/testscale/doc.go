// Package testscale tells tests how big to be. The default test run
// (go test ./...) runs every reliability test in a short version, so that
// CI exercises each of them; built with the tag "long"
// (go test -tags long ./...), the same tests run at the full size that
// docs/RELIABILITY.md reports.
package testscale

// Pick returns short in the default build and long in a build with the tag
// "long".
func Pick[T any](short, long T) T {
	if Long {
		return long
	}
	return short
}
