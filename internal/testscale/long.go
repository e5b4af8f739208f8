//go:build long

package testscale

// Long reports whether the tests run at full size (the build tag "long").
const Long = true
