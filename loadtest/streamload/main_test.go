package main

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// The demo binary the tests build once (see demoBinary).
var (
	demoOnce sync.Once
	demoDir  string
	demoBin  string
	demoErr  error
)

// TestMain removes the demo binary after the tests, and fails them if a
// goroutine outlives them: every scenario must join its clients and wait
// for its demo child.
func TestMain(m *testing.M) {
	code := m.Run()
	if demoDir != "" {
		os.RemoveAll(demoDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
