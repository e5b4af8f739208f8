package handlers_test

import (
	"database/sql"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sse"
)

// TestHandlerSetUpMistakes: a handler configured wrong panics when its
// gin handler is built, as chi does for a route registered wrong, with a
// message that names the field to fix; never later, while serving. (Files
// and Proxy have tests of their own.)
func TestHandlerSetUpMistakes(t *testing.T) {
	db := sql.OpenDB(firstRowFails{}) // never queried
	t.Cleanup(func() { db.Close() })
	hub := &sse.MemHub{}
	t.Cleanup(func() { hub.Close() })
	tests := []struct {
		name    string
		handler func() gin.HandlerFunc
		want    string // the panic's value; "" for none
	}{
		{"Export without DB", handlers.Export{Query: "SELECT 1"}.Handler, "handlers: Export.DB is nil"},
		{"Export without Query", handlers.Export{DB: db}.Handler, "handlers: Export.Query is empty"},
		{"Export with a blank Query", handlers.Export{DB: db, Query: " \n\t"}.Handler, "handlers: Export.Query is empty"},
		{"Export", handlers.Export{DB: db, Query: "SELECT 1"}.Handler, ""},
		{"Events without Hub", handlers.Events{Topics: []string{"news"}}.Handler, "handlers: Events.Hub is nil"},
		{"Events without Topics", handlers.Events{Hub: hub}.Handler, "handlers: Events.Topics is empty"},
		{"Events", handlers.Events{Hub: hub, Topics: []string{"news"}}.Handler, ""},
		{"LogEvents without Path", (&handlers.LogEvents{Hub: hub}).Handler, "handlers: LogEvents.Path is empty"},
		{"LogEvents without Hub", (&handlers.LogEvents{Path: "app.log"}).Handler, "handlers: LogEvents.Hub is nil"},
		{"LogEvents", (&handlers.LogEvents{Path: "app.log", Hub: hub}).Handler, ""},
		{"Tail without Path", handlers.Tail{}.Handler, "handlers: Tail.Path is empty"},
		{"Tail", handlers.Tail{Path: "app.log"}.Handler, ""},
		{"Numbers, whose zero value is ready", handlers.Numbers{}.Handler, ""},
		{"Runs without Manager", handlers.Runs{Kinds: map[string]handlers.RunKind{"k": nil}}.Handler, "handlers: Runs.Manager is nil"},
		{"Runs without Kinds", handlers.Runs{Manager: &runs.Manager{}}.Handler, "handlers: Runs.Kinds is empty"},
		{"Runs", handlers.Runs{Manager: &runs.Manager{}, Kinds: map[string]handlers.RunKind{"k": nil}}.Handler, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h gin.HandlerFunc
			got := func() (v any) {
				defer func() { v = recover() }()
				h = tt.handler()
				return nil
			}()
			switch {
			case tt.want == "" && (got != nil || h == nil):
				t.Errorf("Handler() panicked with %v, returned %v; want a handler", got, h)
			case tt.want != "" && got != tt.want:
				t.Errorf("Handler() panicked with %v, want %q", got, tt.want)
			}
		})
	}
}
