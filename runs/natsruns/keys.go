package natsruns

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ginstream/ginstream/internal/natsname"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sink"
)

// maxKeyLen bounds the keys of records: a NATS server drops a connection
// that sends a subject longer than its control line (4 KiB by default).
const maxKeyLen = 1024

// ErrID reports a run id that cannot name a record: empty, or longer than
// a key may be (1 KiB, where a byte other than an ASCII letter or digit
// takes three). Create returns it; Get and Update report ErrNotFound for
// such an id. Its status (sink.StatusOf) is 400 Bad Request.
var ErrID = sink.WithStatus(http.StatusBadRequest, errors.New("natsruns: run id empty or too long"))

// runKey returns the key of the record of run id.
func runKey(id string) (string, error) {
	key := "run." + natsname.Escape(id)
	if id == "" || len(key) > maxKeyLen {
		return "", fmt.Errorf("%w: %.64q", ErrID, id)
	}
	return key, nil
}

// idemKey returns the key that holds the id of the run of an idempotency
// key.
func idemKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "idem." + hex.EncodeToString(sum[:])
}

// decode returns the record of an entry of the bucket.
func decode(e jetstream.KeyValueEntry) (runs.Record, error) {
	var rec runs.Record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return runs.Record{}, fmt.Errorf("natsruns: the record under %s: %w", e.Key(), err)
	}
	return rec, nil
}

// encode returns the JSON of a record.
func encode(rec runs.Record) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("natsruns: record of run %.64q: %w", rec.ID, err)
	}
	return b, nil
}
