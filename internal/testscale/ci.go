package testscale

import (
	"os"
	"slices"
	"strings"
)

// CI reports whether the tests run in CI, where a missing PostgreSQL or
// Chromium fails the tests that need it rather than skipping them: whether
// the environment variable CI is set to anything but a false value ("",
// "0", "f", "false", "n", "no", "off", in any case).
func CI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return !slices.Contains([]string{"", "0", "f", "false", "n", "no", "off"}, v)
}
