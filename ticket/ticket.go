// Package ticket issues and checks short-lived signed tickets: a token that
// says "the server granted this subject until this time", small enough for
// a URL's query string. It is for requests that cannot carry an
// Authorization header, above all a browser's EventSource, and for links
// such as downloads: the page first asks a route that checks its session
// for a ticket, then puts the ticket in the URL it opens, and the route
// serving that URL checks the ticket instead of the session.
//
//	tickets, err := ticket.NewSigner(key) // 32 random bytes or more, the same on every server
//	…
//	// GET /events/ticket, behind the app's session check:
//	token, expires := tickets.Issue(user+" events:private", time.Minute)
//	…
//	// GET /events?topic=private&ticket=…:
//	until, err := tickets.Check(c.Query("ticket"), user+" events:private")
//
// A ticket is its expiry followed by an HMAC-SHA256, under the server's
// key, of the expiry and the subject: 55 characters of URL-safe base64
// with no padding, which need no escaping in a URL. The subject is not
// in the ticket (the checking side knows what it grants, and passes it to
// Check), nor is the ticket encrypted: its expiry can be read by anyone.
//
// # What a ticket is, and is not
//
// A ticket is a bearer token: whoever holds it may use it until it
// expires, as often as they like. A URL is seen by more than its page —
// access logs, proxies, a browser's history — so keep tickets short-lived
// (a minute is plenty to open a stream, and a stream that should end with
// the ticket ends then) and make the subject name both who it is for and
// what it grants, so that a ticket leaked from one user's page opens
// nothing else. There is no revocation but expiry, and no rotation but a
// new key, which makes every outstanding ticket fail with [ErrSignature].
//
// A Signer is safe for concurrent use, starts no goroutine and keeps no
// state but its key.
package ticket

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// MinKeySize is the shortest key NewSigner accepts, in bytes: as long as
// HMAC-SHA256's output, so that the key is not the weak point.
const MinKeySize = 32

// ErrShortKey reports a key shorter than MinKeySize.
var ErrShortKey = errors.New("ticket: key shorter than 32 bytes")

// Errors of Check, for a ticket that grants nothing. Their messages say
// what is wrong and nothing more, so that they may be shown to a client.
var (
	// ErrMalformed reports a token that is not a ticket at all: the
	// wrong length, not URL-safe base64 as Issue writes it, or of an
	// unknown version.
	ErrMalformed = errors.New("ticket: malformed")
	// ErrSignature reports a ticket that this Signer did not issue for
	// this subject: issued for another subject, under another key, or
	// altered.
	ErrSignature = errors.New("ticket: bad signature")
	// ErrExpired reports a ticket issued for this subject whose time is
	// up.
	ErrExpired = errors.New("ticket: expired")
)

// The layout of a ticket before its encoding: a version byte, the expiry
// in milliseconds since 1970 (big-endian), and the MAC of both and the
// subject.
const (
	version     = 1
	headerSize  = 1 + 8
	rawSize     = headerSize + sha256.Size
	encodedSize = (rawSize*8 + 5) / 6 // base64 without padding: 55
)

// macContext starts every MAC, so that a MAC made with the same key for
// another purpose can never pass for a ticket's.
const macContext = "ginstream ticket v1\x00"

// encoding is URL-safe base64 without padding, refusing the encodings of
// a ticket other than the one Issue writes (with trailing bits set), so
// that a ticket has exactly one spelling.
var encoding = base64.RawURLEncoding.Strict()

// Signer issues tickets and checks them, with a key of its own. Make one
// with NewSigner; the zero Signer has no key, and its methods panic.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer with a copy of key, which must be at least
// MinKeySize bytes and should be random (crypto/rand). Every server that
// checks the tickets of the others needs the same key; a server alone may
// make a new one each time it starts, at the cost of the tickets
// outstanding then. It fails with ErrShortKey for a shorter key.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeySize {
		return nil, ErrShortKey
	}
	return &Signer{key: bytes.Clone(key)}, nil
}

// Issue returns a ticket for subject that expires after ttl, and its
// expiry (which Check returns too): now plus ttl, to the millisecond
// below. A ttl of zero or less gives a ticket that has expired already.
func (s *Signer) Issue(subject string, ttl time.Duration) (token string, expires time.Time) {
	expires = time.UnixMilli(time.Now().Add(ttl).UnixMilli())
	return s.issue(subject, expires), expires
}

// issue returns the ticket for subject that expires at expires, to the
// millisecond.
func (s *Signer) issue(subject string, expires time.Time) string {
	s.mustHaveKey()
	raw := make([]byte, headerSize, rawSize)
	raw[0] = version
	binary.BigEndian.PutUint64(raw[1:], uint64(expires.UnixMilli()))
	return encoding.EncodeToString(s.sum(raw, raw[:headerSize], subject))
}

// Check returns the expiry of token if this Signer issued it for subject
// and it has not expired, and otherwise an error matching ErrMalformed,
// ErrSignature or ErrExpired (and the zero time). It compares the MAC in
// constant time, and reads nothing of a token of the wrong length, so that
// its cost does not grow with what a client sends.
func (s *Signer) Check(token, subject string) (expires time.Time, err error) {
	s.mustHaveKey()
	if len(token) != encodedSize {
		return time.Time{}, ErrMalformed
	}
	var raw [rawSize]byte
	if n, err := encoding.Decode(raw[:], []byte(token)); err != nil || n != rawSize || raw[0] != version {
		return time.Time{}, ErrMalformed
	}
	var mac [sha256.Size]byte
	if !hmac.Equal(s.sum(mac[:0], raw[:headerSize], subject), raw[headerSize:]) {
		return time.Time{}, ErrSignature
	}
	expires = time.UnixMilli(int64(binary.BigEndian.Uint64(raw[1:headerSize])))
	if !time.Now().Before(expires) {
		return time.Time{}, ErrExpired
	}
	return expires, nil
}

// sum appends to dst the MAC of a ticket's header and subject.
func (s *Signer) sum(dst, header []byte, subject string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(macContext))
	h.Write(header)
	h.Write([]byte(subject))
	return h.Sum(dst)
}

// mustHaveKey panics if s was not made by NewSigner: a mistake in the
// program, which would otherwise sign with an empty key.
func (s *Signer) mustHaveKey() {
	if s == nil || len(s.key) == 0 {
		panic("ticket: Signer not made by NewSigner")
	}
}
