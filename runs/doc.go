// Package runs keeps producers running after the request that started them
// has ended, so that any number of clients can watch them, resume after a
// reload and cancel them: a long report being written, a job's log, a
// language model's reply arriving word by word.
//
// A run is a producer (a generator.Func of sse.Event) started by a Manager
// and owned by the server, not by a request. Its events are published, in
// order and with ids, to a topic of an sse.Hub (an sse.MemHub of the
// Manager's own by default, a natshub.Hub to share runs among instances),
// and its state (running, completed, failed, cancelled, its latest
// progress) is kept in a Store. A client attaches to a run as Server-Sent
// Events, resuming after its Last-Event-ID, or as NDJSON, resuming after
// ?from=ID; a late client gets every event from the first. Every attached
// stream ends with one final sse.EventEnd event whose data is the run's
// Info as JSON, saying how the run ended, so that a browser's EventSource
// stops reconnecting and no client takes a cut connection for the end.
//
//	m := &runs.Manager{}
//	defer m.Close()
//	info, created, err := m.Start(runs.Spec{Kind: "count", IdempotencyKey: key}, producer)
//	…
//	r.GET("/runs/:id", func(c *gin.Context) { m.Attach(c, c.Param("id")) })
//
// Package handlers' Runs serves the usual routes: POST to start (201 with
// Location, the same Location again for a repeated Idempotency-Key), GET to
// attach, DELETE to cancel.
//
// An NDJSON stream has one line per event, {"id":"…","event":"…","data":"…"}:
// "id" is missing from the progress sent first, "event" for an unnamed
// event ("message"). Its last line is the end event; a stream without it
// was cut, and its client resumes with ?from= the last id it received.
//
// A client that falls behind the run is not dropped: with the Manager's
// own hub it may fall behind by the whole run, which is kept anyway (a
// subscriber is only a position in it), and a client that stops reading is
// ended by the stall timeout (sink.Config.StallTimeout), after which it
// resumes. An event stream resumes by itself; an NDJSON client must.
//
// # Bounds
//
// A Manager bounds the runs running at once (MaxRunning, and MaxPerClient
// per client key: 429 with Retry-After over them), the events kept per run
// (MaxItems: a run that publishes more fails), the longest a run may run
// (MaxDuration: it fails then) and how long an ended run stays attachable
// (Retention: after it, ErrGone, a 410, for another Retention but at least
// an hour; then the run is forgotten, a 404).
//
// # Lifetime
//
// A run's producer runs on a goroutine the Manager owns, with a context
// that ends when the run is cancelled, reaches MaxDuration or the Manager
// is closed. Close cancels every run, publishes their final events and
// waits for their producers to return. With a Store shared by several
// instances, the instance that runs a run renews its lease every Lease/3; a
// client attached on another instance to a run whose lease has lapsed (its
// instance died) is sent a final event of state failed (ErrLeaseLost),
// Lease to Lease+Lease/3 after the instance's last renewal. Cancel on
// another instance asks the owner through the Store, and the owner
// cancels at its next renewal.
//
// # Files
//
// manager.go holds the Manager, its settings, Get and Close; start.go how
// a run starts, runs and ends (Start, its bounds, the end event); owned.go
// what an instance knows of its own runs and how their events are
// published; progress.go the progress events; attach.go how a client
// attaches, resumes, and watches a run of another instance; ndjson.go the
// NDJSON form; lease.go leases and the forgetting of old runs; cancel.go
// Cancel; memstore.go MemStore.
package runs
