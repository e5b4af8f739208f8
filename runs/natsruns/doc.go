// Package natsruns is a runs.Store backed by a NATS JetStream key-value
// bucket, for gin servers that run as several instances: a run started on
// one instance can be found, attached to and cancelled through any of
// them, and an Idempotency-Key repeated to another instance returns the
// same run.
//
//	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
//	js, err := jetstream.New(nc)
//	store := &natsruns.Store{JetStream: js}
//	if err := store.Open(ctx); err != nil { … } // optional: fail at start
//	m := &runs.Manager{Hub: &natshub.Hub{JetStream: js}, Store: store}
//
// It passes the conformance suite of package runs/storetest, as
// runs.MemStore does.
//
// # The bucket
//
// A run's record is kept as JSON under the key "run." and its id, escaped
// as package sse/natshub escapes topic names (ASCII letters and digits
// kept, every other byte written as _XX), so that any id is a valid key
// and distinct ids are distinct keys. An idempotency key is kept under
// "idem." and the hex SHA-256 of the key, and holds the id of its run.
//
// The store makes its bucket (Bucket, DefaultBucket by default) the first
// time it needs it, if it does not exist, with one revision of each key
// kept (History 1), Storage and Replicas; a bucket that exists, made by
// another instance or by an operator with settings of their own, is used
// as it is. Every instance that shares runs uses the same bucket.
//
// # Idempotency keys
//
// Create writes the run's record first (kv.Create, which fails if the id
// is taken), then claims the idempotency key with kv.Create, which only
// one of any number of instances racing can win. The loser removes its
// own record and returns the winner's. Since a key is claimed only once
// its run's record exists, whoever finds the key finds the record: there
// is no window in which a key names a run not yet written. A key that
// names a run no longer there (a Create whose claim NATS stored but whose
// answer was lost removes its record; Forget removes a key before its
// record, and so leaves none) is taken over with kv.Update on its
// revision, which again only one instance wins.
//
// A Create that loses and then cannot remove its own record (NATS went
// away in between) returns an error and leaves that record, of a run that
// never started, in the state it was given (running): nothing removes
// it.
//
// # Updates
//
// Update reads the record with its revision, applies the change and
// writes it with kv.Update on that revision; if another update came in
// between, it reads and applies the change again.
//
// # Forget and its cost
//
// Forget reads the newest entry of every key in the bucket through one
// watcher (records of runs running and ended, idempotency keys, the
// markers of keys removed earlier), so its cost grows with the runs kept,
// not with those forgotten; then it makes up to three requests per run it
// forgets and one per marker it clears. Call it from time to time (every
// minute or so, from one instance or from all), not per request.
//
// # When NATS goes away
//
// The store's methods fail at once with an error matching
// natshub.ErrUnavailable (503 Service Unavailable) while the client is
// not connected, and with such an error when a request to JetStream
// fails; they work again once the client has reconnected. A record
// written with a bucket on file storage (the default) survives a restart
// of NATS. A write whose acknowledgement was lost reports such an error
// although it was done: a Create repeated then finds its own record and
// reports ErrIDTaken, or, with an idempotency key, returns the record as
// existing.
package natsruns
