package handlers_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/internal/loopback"
	"github.com/ginstream/ginstream/internal/pgtest"
)

// BenchmarkExport exports 200,000 rows from PostgreSQL as CSV over loopback
// HTTP/1.1 with rows read ahead of the client up to Capacity, for several
// capacities in the same run: it weighs the memory an export holds (about
// Capacity rows) against its speed.
//
//	go test -run '^$' -bench BenchmarkExport -count 5 ./handlers
func BenchmarkExport(b *testing.B) {
	const rows = 200_000
	db := pgtest.DB(b)
	gin.SetMode(gin.ReleaseMode)
	for _, capacity := range []int{64, handlers.DefaultExportCapacity, 1024} {
		b.Run(fmt.Sprintf("capacity=%d", capacity), func(b *testing.B) {
			export := handlers.Export{
				DB: db,
				Query: `SELECT n AS id, 'user ' || n AS name, 'user' || n || '@example.com' AS email
					FROM generate_series(1, $1::int) AS n`,
				Args:     []any{rows},
				Capacity: capacity,
			}
			engine := gin.New()
			engine.GET("/users.csv", export.Handler())
			client, base := loopback.Serve(b, false, engine, 0)
			var size int64
			for b.Loop() {
				resp, err := client.Get(base + "/users.csv")
				if err != nil {
					b.Fatal(err)
				}
				size, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d, %v", resp.StatusCode, err)
				}
			}
			b.SetBytes(size)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
}
