// Package handlers provides ready gin handlers for the jobs streaming
// exists for: files and downloads ([Files], [Attachment]), CSV and NDJSON
// exports from a database cursor ([Export]), live numbers ([Numbers]),
// following a log file ([Tail]), proxying an upstream response ([Proxy]),
// live events and logs as Server-Sent Events ([Events], [LogEvents]), and
// runs that outlive the request that started them ([Runs]).
// Each is built on packages generator, sink and sse, and each is also a
// short worked example of them.
//
// Every handler is a struct of settings whose Handler method checks them
// once, when the route is set up — it panics on a mistake, such as a nil
// database or no topics, as chi does for a route registered wrong — and
// returns the gin.HandlerFunc. The settings every stream shares come as one
// embedded sink.Config, set up once and given to each:
//
//	streams := sink.Config{Limit: sink.NewLimit(1000, 2*time.Second), Logger: logger}
//	r.GET("/stream/numbers", handlers.Numbers{Config: streams}.Handler())
//	r.GET("/export/users.csv", handlers.Export{DB: db, Query: q, Filename: "users.csv", Config: streams}.Handler())
//	r.GET("/reports/:name", handlers.Files{Root: reports, Attachment: true}.Handler())
//
// Handlers answer bad input with 400 and a JSON body naming what was wrong
// ([ParamError], one shape for every parameter); a failure before the first
// byte with an error status (a generic message for a server error, whose
// detail is logged); and a failure after it with a failed transfer the
// client can detect (see package sink).
package handlers
