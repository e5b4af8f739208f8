package ticket_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ginstream/ginstream/ticket"
)

// testKey is a key for the tests; a real one is random.
var testKey = bytes.Repeat([]byte("0123456789abcdef"), 2)

func newSigner(t *testing.T, key []byte) *ticket.Signer {
	t.Helper()
	s, err := ticket.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// replace returns token with the character at i replaced by c.
func replace(token string, i int, c byte) string {
	b := []byte(token)
	b[i] = c
	return string(b)
}

// flip returns token with the character at i replaced by another one of
// the URL-safe alphabet that keeps the token canonical: at the last
// position, whose two low bits are unused, one that differs in its high
// bits.
func flip(token string, i int) string {
	c := byte('A')
	if token[i] == 'A' {
		c = 'Q'
	}
	return replace(token, i, c)
}

// TestTicketCheck checks what Check makes of tokens that are, or are almost,
// tickets issued for a subject.
func TestTicketCheck(t *testing.T) {
	s := newSigner(t, testKey)
	other := newSigner(t, bytes.Repeat([]byte("x"), ticket.MinKeySize))
	const subject = "alice events:private"
	token, expires := s.Issue(subject, time.Minute)
	empty, emptyExpires := s.Issue("", time.Minute)
	if len(token) != 55 || strings.ContainsAny(token, "+/=") {
		t.Fatalf("ticket %q: want 55 characters of URL-safe base64 without padding", token)
	}
	otherKey, _ := other.Issue(subject, time.Minute)
	expired, _ := s.Issue(subject, -time.Second)

	tests := []struct {
		name           string
		token, subject string
		err            error // nil: accepted
	}{
		{"issued for the subject", token, subject, nil},
		{"issued for the empty subject", empty, "", nil},
		{"another subject", token, "alice events:public", ErrSignature},
		{"a longer subject", token, subject + "x", ErrSignature},
		{"a shorter subject", token, subject[:len(subject)-1], ErrSignature},
		{"the empty subject", token, "", ErrSignature},
		{"issued under another key", otherKey, subject, ErrSignature},
		{"expired", expired, subject, ErrExpired},
		{"a signature character changed", flip(token, 30), subject, ErrSignature},
		{"the last character changed", flip(token, 54), subject, ErrSignature},
		{"the expiry changed", flip(token, 4), subject, ErrSignature},
		{"empty", "", subject, ErrMalformed},
		{"one character short", token[:54], subject, ErrMalformed},
		{"one character more", token + "A", subject, ErrMalformed},
		{"padded", token[:54] + "=", subject, ErrMalformed},
		{"standard base64", replace(token, 20, '+'), subject, ErrMalformed},
		{"a line feed", replace(token, 20, '\n'), subject, ErrMalformed},
		{"a space", replace(token, 20, ' '), subject, ErrMalformed},
		{"unused bits set", replace(token, 54, token[54]+1), subject, ErrMalformed},
		{"another version", "Ag" + token[2:], subject, ErrMalformed},
		{"not base64", strings.Repeat("!", 55), subject, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Check(tt.token, tt.subject)
			want := expires
			if tt.token == empty {
				want = emptyExpires
			}
			switch {
			case tt.err == nil && (err != nil || !got.Equal(want)):
				t.Fatalf("Check = %v, %v; want %v, nil", got, err, want)
			case tt.err != nil && (!errors.Is(err, tt.err) || !got.IsZero()):
				t.Fatalf("Check = %v, %v; want the zero time and %v", got, err, tt.err)
			}
		})
	}
}

// TestTicketExpiry checks that a ticket is good until its expiry, to the
// millisecond, and not at it.
func TestTicketExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSigner(t, testKey)
		token, expires := s.Issue("report.csv", time.Minute)
		if want := time.Now().Add(time.Minute); !expires.Equal(want) {
			t.Fatalf("expires %v, want %v", expires, want)
		}
		time.Sleep(time.Minute - time.Millisecond)
		if got, err := s.Check(token, "report.csv"); err != nil || !got.Equal(expires) {
			t.Fatalf("a millisecond before its expiry: Check = %v, %v; want %v, nil", got, err, expires)
		}
		time.Sleep(time.Millisecond)
		if _, err := s.Check(token, "report.csv"); !errors.Is(err, ticket.ErrExpired) {
			t.Fatalf("at its expiry: Check: %v, want ErrExpired", err)
		}
	})
}

// TestTicketIssueTruncates checks that an expiry is kept to the millisecond
// below, which is what Check returns.
func TestTicketIssueTruncates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSigner(t, testKey)
		token, expires := s.Issue("x", time.Second+999*time.Microsecond)
		if want := time.Now().Add(time.Second + 999*time.Microsecond).Truncate(time.Millisecond); !expires.Equal(want) {
			t.Fatalf("expires %v, want %v", expires, want)
		}
		if got, err := s.Check(token, "x"); err != nil || !got.Equal(expires) {
			t.Fatalf("Check = %v, %v; want %v, nil", got, err, expires)
		}
	})
}

func TestTicketNewSigner(t *testing.T) {
	for _, n := range []int{0, 1, ticket.MinKeySize - 1} {
		if s, err := ticket.NewSigner(make([]byte, n)); s != nil || !errors.Is(err, ticket.ErrShortKey) {
			t.Errorf("a key of %d bytes: %v, %v; want ErrShortKey", n, s, err)
		}
	}
	// The Signer keeps a copy: changing the caller's key changes nothing.
	key := bytes.Clone(testKey)
	s := newSigner(t, key)
	token, _ := s.Issue("x", time.Minute)
	key[0]++
	if _, err := s.Check(token, "x"); err != nil {
		t.Fatalf("after the caller's key changed: %v", err)
	}
	if _, err := newSigner(t, key).Check(token, "x"); !errors.Is(err, ticket.ErrSignature) {
		t.Fatalf("under the changed key: %v, want ErrSignature", err)
	}
}

func TestTicketZeroSignerPanics(t *testing.T) {
	for name, f := range map[string]func(s *ticket.Signer){
		"Issue": func(s *ticket.Signer) { s.Issue("x", time.Minute) },
		"Check": func(s *ticket.Signer) { _, _ = s.Check(strings.Repeat("A", 55), "x") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f(new(ticket.Signer))
		})
	}
}

// The errors of Check, under shorter names.
var (
	ErrMalformed = ticket.ErrMalformed
	ErrSignature = ticket.ErrSignature
	ErrExpired   = ticket.ErrExpired
)
