package natshub

import (
	"errors"
	"fmt"

	"github.com/ginstream/ginstream/internal/natsname"
)

// maxNameLen is the longest stream name JetStream accepts.
const maxNameLen = 255

// ErrTopicName reports a topic whose name makes a stream name longer than
// JetStream allows (255 bytes with the prefix; a byte other than an ASCII
// letter or digit takes three).
var ErrTopicName = errors.New("natshub: topic name too long for a JetStream stream")

// names are the JetStream names of one topic.
type names struct {
	stream  string // the topic's stream: Prefix_escaped
	subject string // its only subject: Prefix.escaped
}

// topicNames returns the stream and subject of a topic, with the topic
// escaped by natsname.Escape: distinct topics get distinct names, which
// are valid stream names and subject tokens.
func topicNames(prefix, topic string) (names, error) {
	esc := natsname.Escape(topic)
	n := names{stream: prefix + "_" + esc, subject: prefix + "." + esc}
	if len(n.stream) > maxNameLen {
		return names{}, fmt.Errorf("%w: %q", ErrTopicName, shorten(topic))
	}
	return n, nil
}

// validPrefix reports whether a prefix can start stream names and
// subjects: ASCII letters, digits and '-', so that the first '_' of a
// stream name ends the prefix.
func validPrefix(p string) bool {
	if p == "" {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// shorten returns s, cut to 64 bytes with an ellipsis if longer, for error
// messages.
func shorten(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}
