package natshub

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/ginstream/ginstream/sse"
)

// An event travels as a JetStream message whose body is, byte for byte:
// the format version (1); the name's length (uvarint) and the name; the
// retry time in nanoseconds (varint); the comment's length (uvarint) and
// the comment; and the data, to the end. The id is not in it: it is the
// message's stream sequence number. Every byte of every field arrives as
// it was published, UTF-8 or not, as through sse.MemHub.
const messageVersion = 1

// errMessage reports a message body that is not an event of this format.
var errMessage = errors.New("natshub: not an event message")

// encodeEvent returns the body of the message that carries e, whose id it
// ignores. It fails as sse.EventEncoder does for an event that cannot be framed,
// so that nothing unframable is published.
func encodeEvent(e sse.Event) ([]byte, error) {
	e.ID = ""
	if _, err := (sse.EventEncoder{}).Append(nil, e); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(e.Name)+len(e.Comment)+len(e.Data))
	b = append(b, messageVersion)
	b = binary.AppendUvarint(b, uint64(len(e.Name)))
	b = append(b, e.Name...)
	b = binary.AppendVarint(b, int64(e.Retry))
	b = binary.AppendUvarint(b, uint64(len(e.Comment)))
	b = append(b, e.Comment...)
	return append(b, e.Data...), nil
}

// parseEvent parses a message body made by encodeEvent.
func parseEvent(b []byte) (sse.Event, error) {
	var e sse.Event
	if len(b) == 0 || b[0] != messageVersion {
		return e, errMessage
	}
	b = b[1:]
	field := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	var ok bool
	if e.Name, ok = field(); !ok {
		return e, errMessage
	}
	retry, k := binary.Varint(b)
	if k <= 0 {
		return e, errMessage
	}
	b = b[k:]
	e.Retry = time.Duration(retry)
	if e.Comment, ok = field(); !ok {
		return e, errMessage
	}
	e.Data = string(b)
	return e, nil
}

// decodeEvent returns the frame of the event that a message's body
// carries, with the given id. A body that is not such a message (something
// else published on the topic's subject), or whose name cannot be framed,
// becomes an unnamed event with the body as its data, so that the ids stay
// consecutive.
func decodeEvent(body []byte, id string) sse.Frame {
	if e, err := parseEvent(body); err == nil {
		e.ID = id
		if f, err := sse.NewFrame(e); err == nil {
			return f
		}
	}
	f, _ := sse.NewFrame(sse.Event{ID: id, Data: string(body)}) // a decimal id and no name: always framable
	return f
}
