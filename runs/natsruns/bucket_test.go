package natsruns_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/internal/natstest"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/runs/natsruns"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse/natshub"
)

// patience bounds every wait for something that must happen: a deadlock
// guard, not a performance claim.
const patience = 30 * time.Second

// TestOpen: the store makes its bucket with one revision a key; it uses
// a bucket that exists as it is; and it reports a configuration NATS
// refuses as such, not as NATS being unavailable.
func TestOpen(t *testing.T) {
	ns := natstest.Start(t)
	js := ns.Connect(t)

	made := &natsruns.Store{JetStream: js, Bucket: newBucket(), Storage: jetstream.MemoryStorage}
	if err := made.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	kv, err := js.KeyValue(t.Context(), made.Bucket)
	if err != nil {
		t.Fatalf("the bucket Open made: %v", err)
	}
	if st, err := kv.Status(t.Context()); err != nil || st.History() != 1 {
		t.Fatalf("the bucket Open made keeps %d revisions a key (%v), want 1", st.History(), err)
	}

	bucket := newBucket()
	if _, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: bucket, History: 5, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	existing := &natsruns.Store{JetStream: js, Bucket: bucket}
	if _, _, err := existing.Create(t.Context(), record("run-1", "", "a")); err != nil {
		t.Fatalf("Create in a bucket made by an operator: %v", err)
	}
	ekv, err := js.KeyValue(t.Context(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := ekv.Status(t.Context()); err != nil || st.History() != 5 {
		t.Fatalf("the operator's bucket keeps %d revisions a key (%v) after use, want its 5", st.History(), err)
	}

	for name, s := range map[string]*natsruns.Store{
		"invalid bucket": {JetStream: js, Bucket: "a.b"},
		"no JetStream":   {},
	} {
		err := s.Open(t.Context())
		if err == nil || errors.Is(err, natshub.ErrUnavailable) {
			t.Errorf("%s: Open = %v, want a configuration error", name, err)
		}
	}
}

// TestIDs: an id that cannot name a record is refused by Create with
// ErrID (400) and is not found by Get.
func TestIDs(t *testing.T) {
	ns := natstest.Start(t)
	s := &natsruns.Store{JetStream: ns.Connect(t), Bucket: newBucket(), Storage: jetstream.MemoryStorage}
	long := strings.Repeat(".", 400) // 1200 bytes escaped
	for _, id := range []string{"", long} {
		_, _, err := s.Create(t.Context(), record(id, "", "a"))
		if !errors.Is(err, natsruns.ErrID) || sink.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("Create(%.10q…): %v (status %d), want ErrID, 400", id, err, sink.StatusOf(err))
		}
		if _, err := s.Get(t.Context(), id); !errors.Is(err, runs.ErrNotFound) {
			t.Errorf("Get(%.10q…): %v, want ErrNotFound", id, err)
		}
	}
	if _, _, err := s.Create(t.Context(), record(strings.Repeat("a", 1000), "", "a")); err != nil {
		t.Errorf("Create with an id of 1000 letters: %v", err)
	}
}

// TestStaleKey: an idempotency key that names a run no longer there is
// taken over by the next Create with it.
func TestStaleKey(t *testing.T) {
	ns := natstest.Start(t)
	js := ns.Connect(t)
	s := &natsruns.Store{JetStream: js, Bucket: newBucket(), Storage: jetstream.MemoryStorage}
	if _, _, err := s.Create(t.Context(), record("ghost", "key", "a")); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(t.Context(), s.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(t.Context(), "run.ghost"); err != nil { // as if its Create's answer was lost
		t.Fatal(err)
	}
	got, created, err := s.Create(t.Context(), record("new", "key", "a"))
	if err != nil || !created || got.ID != "new" {
		t.Fatalf("Create with a stale key = %q, created %v, %v; want run new created", got.ID, created, err)
	}
	again, created, err := s.Create(t.Context(), record("newer", "key", "a"))
	if err != nil || created || again.ID != "new" {
		t.Fatalf("Create with the key taken over = %q, created %v, %v; want run new", again.ID, created, err)
	}
}

// TestForgetClearsMarkers: removing a key leaves a marker in the bucket;
// the next Forget clears it, so that the bucket does not grow with the
// runs forgotten.
func TestForgetClearsMarkers(t *testing.T) {
	ns := natstest.Start(t)
	js := ns.Connect(t)
	s := &natsruns.Store{JetStream: js, Bucket: newBucket(), Storage: jetstream.MemoryStorage}
	for _, id := range []string{"a", "b", "c"} {
		rec := record(id, "key "+id, "a")
		rec.State, rec.Ended = runs.Completed, time.Now()
		if _, _, err := s.Create(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	kv, err := js.KeyValue(t.Context(), s.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	values := func() uint64 {
		t.Helper()
		st, err := kv.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return st.Values()
	}
	if n := values(); n != 6 {
		t.Fatalf("3 runs with keys: %d entries, want 6", n)
	}
	for i, want := range []uint64{6, 0} { // markers, then nothing
		if err := s.Forget(t.Context(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := values(); n != want {
			t.Fatalf("after Forget %d: %d entries, want %d", i+1, n, want)
		}
	}
}

// TestOutage: while NATS is down every method fails with an error
// matching natshub.ErrUnavailable (503); once it is back, the store works
// again and the records on file storage are there.
func TestOutage(t *testing.T) {
	ns := natstest.Start(t)
	js := ns.Connect(t)
	s := &natsruns.Store{JetStream: js, Bucket: newBucket()} // file storage: it survives the restart
	want, _, err := s.Create(t.Context(), record("run-1", "key", "a"))
	if err != nil {
		t.Fatal(err)
	}

	ns.Stop()
	for deadline := time.Now().Add(patience); js.Conn().Status() == nats.CONNECTED; {
		if time.Now().After(deadline) {
			t.Fatalf("the client still thinks it is connected %v after NATS stopped", patience)
		}
		time.Sleep(10 * time.Millisecond) // the client notices; not an assertion
	}
	ctx := t.Context()
	calls := map[string]func() error{
		"Get":    func() error { _, err := s.Get(ctx, "run-1"); return err },
		"Create": func() error { _, _, err := s.Create(ctx, record("run-2", "key 2", "a")); return err },
		"Update": func() error {
			_, err := s.Update(ctx, "run-1", func(*runs.Record) error { return nil })
			return err
		},
		"Forget": func() error { return s.Forget(ctx, time.Now()) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, natshub.ErrUnavailable) || sink.StatusOf(err) != http.StatusServiceUnavailable {
			t.Errorf("%s while NATS is down: %v (status %d), want ErrUnavailable, 503", name, err, sink.StatusOf(err))
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s while NATS is down took %v, want it to fail at once", name, d)
		}
	}

	ns.Start()
	deadline := time.Now().Add(patience)
	for {
		got, err := s.Get(ctx, "run-1")
		if err == nil {
			if got.ID != want.ID || !got.Started.Equal(want.Started) {
				t.Fatalf("after the restart: %+v, want %+v", got, want)
			}
			break
		}
		if !errors.Is(err, natshub.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("Get after the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // the client reconnects; not an assertion
	}
}
