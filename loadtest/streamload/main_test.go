package main

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// The demo binaries the tests build once each (see demoBinary), in one
// directory.
var (
	demoDirOnce sync.Once
	demoDir     string
	demoDirErr  error
	demoBuilds  = map[bool]*demoBuild{true: {}, false: {}} // by race
)

// demoBuild is one build of the demo: with or without the race detector.
type demoBuild struct {
	once sync.Once
	bin  string
	err  error
}

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
