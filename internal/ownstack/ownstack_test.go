package ownstack_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ginstream/ginstream/internal/ownstack"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun: f runs to its end before Run returns, and its panic reaches
// the caller.
func TestRun(t *testing.T) {
	ran := false
	ownstack.Run(func() { ran = true })
	if !ran {
		t.Fatal("Run returned before f ran")
	}
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want f's panic", p)
		}
	}()
	ownstack.Run(func() { panic("boom") })
	t.Fatal("Run returned after f panicked")
}
