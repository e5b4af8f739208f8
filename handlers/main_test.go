package handlers_test

import (
	"os"
	"testing"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/ginstream/ginstream/internal/pgtest"
)

// TestMain lets the package's database tests share one throwaway
// PostgreSQL cluster (see package pgtest), stops it after the tests, and
// then fails the run if any goroutine is left: every stream's producers,
// server connections and clients must have ended when the tests return.
// gin runs in test mode, without its debug output.
//
// With GINSTREAM_BENCH_CLIENT set, the binary is instead the download
// client process of BenchmarkFiles.
func TestMain(m *testing.M) {
	if os.Getenv(filesBenchClientEnv) != "" {
		os.Exit(filesBenchClientMain())
	}
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(pgtest.Main(m))
}
