package natshub_test

import (
	"fmt"
	"sync/atomic"
)

// prefixes makes every hub of a test run use streams of its own.
var prefixes atomic.Int64

// newPrefix returns a prefix no other hub of this run uses.
func newPrefix() string { return fmt.Sprintf("T%d", prefixes.Add(1)) }
