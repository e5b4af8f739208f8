package natsruns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Forget removes the records of runs that ended before t, with their
// idempotency keys; see [runs.Store]. It also clears the markers that
// removing keys leaves in the bucket, those of earlier calls. The package
// documentation tells what it costs. A record that changed while Forget
// ran is kept, to be judged by the next call.
func (s *Store) Forget(ctx context.Context, t time.Time) error {
	kv, err := s.bucket(ctx)
	if err != nil {
		return err
	}
	ended, markers, err := s.scan(ctx, kv, t)
	for _, e := range ended {
		if ferr := s.forget(ctx, kv, e); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	if len(markers) > 0 {
		if cerr := s.clear(ctx, kv, markers); cerr != nil {
			return errors.Join(err, cerr)
		}
	}
	return err
}

// scan reads the newest entry of every key of the bucket and returns the
// records of the runs ended before t and the markers of removed keys. Its
// error lists the records it could not decode; the others are returned
// with it.
func (s *Store) scan(ctx context.Context, kv jetstream.KeyValue, t time.Time) (ended, markers []jetstream.KeyValueEntry, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, nil, s.fail(ctx, "watch", err)
	}
	defer w.Stop()
	stall := time.NewTimer(requestTimeout)
	defer stall.Stop()
	var bad []error
	for {
		var (
			e  jetstream.KeyValueEntry
			ok bool
		)
		select {
		case e, ok = <-w.Updates():
			if !ok {
				return nil, nil, s.fail(ctx, "watch", errors.New("the watcher stopped"))
			}
		case <-ctx.Done():
			return nil, nil, context.Cause(ctx)
		case <-stall.C:
			return nil, nil, s.fail(ctx, "watch", fmt.Errorf("no entry within %v", requestTimeout))
		}
		if e == nil { // every key read
			return ended, markers, errors.Join(bad...)
		}
		stall.Reset(requestTimeout)
		switch {
		case e.Operation() != jetstream.KeyValuePut:
			markers = append(markers, e)
		case strings.HasPrefix(e.Key(), "run."):
			rec, err := decode(e)
			if err != nil {
				bad = append(bad, err)
			} else if rec.State.Ended() && rec.Ended.Before(t) {
				ended = append(ended, e)
			}
		}
	}
}

// forget removes the record of a run in entry e, and its idempotency key
// if the key still names it: the key first, so that a key never names a
// run removed while Forget is under way. A record updated since e is kept.
func (s *Store) forget(ctx context.Context, kv jetstream.KeyValue, e jetstream.KeyValueEntry) error {
	rec, err := decode(e)
	if err != nil {
		return err
	}
	if rec.IdempotencyKey != "" {
		h, err := kv.Get(ctx, idemKey(rec.IdempotencyKey))
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return s.fail(ctx, "get idempotency key", err)
		case string(h.Value()) == rec.ID:
			err := kv.Purge(ctx, h.Key(), jetstream.LastRevision(h.Revision()))
			if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				return s.fail(ctx, "remove idempotency key", err)
			}
		}
	}
	err = kv.Purge(ctx, e.Key(), jetstream.LastRevision(e.Revision()))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return s.fail(ctx, fmt.Sprintf("remove run %.64q", rec.ID), err)
	}
	return nil
}

// clear removes from the bucket's stream the markers that removing keys
// left, each with what came before it on its key and nothing after: a
// key written again since keeps its value.
func (s *Store) clear(ctx context.Context, kv jetstream.KeyValue, markers []jetstream.KeyValueEntry) error {
	stream, err := s.JetStream.Stream(ctx, "KV_"+kv.Bucket())
	if err != nil {
		return s.fail(ctx, "stream of bucket "+kv.Bucket(), err)
	}
	for _, m := range markers {
		subject := "$KV." + kv.Bucket() + "." + m.Key()
		err := stream.Purge(ctx, jetstream.WithPurgeSubject(subject), jetstream.WithPurgeSequence(m.Revision()+1))
		if err != nil {
			return s.fail(ctx, "clear marker of "+m.Key(), err)
		}
	}
	return nil
}
