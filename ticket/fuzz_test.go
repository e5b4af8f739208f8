package ticket

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fuzzKey is the key of FuzzCheck's Signer, with which the tickets of its
// corpus (testdata/fuzz/FuzzCheck) were issued.
var fuzzKey = []byte("fuzz key 32 bytes long, or more.")

// farFuture are the subjects and expiries of the tickets in FuzzCheck's
// checked-in corpus: issued with fuzzKey, and good until 2100, so that the
// fuzzer starts from tickets that pass.
var farFuture = []struct {
	subject string
	expires time.Time
}{
	{"private", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"alice events:private", time.Date(2100, 1, 1, 0, 0, 0, 1_000_000, time.UTC)},
	{"", time.Date(2100, 6, 1, 12, 0, 0, 0, time.UTC)},
}

// FuzzCheck checks Check against any token and subject: it never panics,
// it fails only with its three errors (and the zero time), and it accepts
// only a ticket this Signer issued for that very subject — byte for byte
// the one issued, since a ticket has one spelling.
func FuzzCheck(f *testing.F) {
	s, err := NewSigner(fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	// The tickets issued: the same in every fuzzing process, so made
	// with fixed expiries rather than by Issue, whose expiry each process
	// would compute anew.
	issued := map[[2]string]bool{}
	for _, t := range farFuture {
		issued[[2]string{s.issue(t.subject, t.expires), t.subject}] = true
	}
	for _, subject := range []string{"orders", "ü\x00\n"} {
		token := s.issue(subject, farFuture[0].expires)
		issued[[2]string{token, subject}] = true
		f.Add(token, subject)
		f.Add(token, subject+"x")
	}
	f.Fuzz(func(t *testing.T, token, subject string) {
		expires, err := s.Check(token, subject)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrSignature) && !errors.Is(err, ErrExpired) {
				t.Fatalf("Check(%q, %q): unexpected error %v", token, subject, err)
			}
			if !expires.IsZero() {
				t.Fatalf("Check(%q, %q) = %v with the error %v; want the zero time", token, subject, expires, err)
			}
			return
		}
		if !issued[[2]string{token, subject}] {
			t.Fatalf("Check accepted %q for %q, which the signer did not issue", token, subject)
		}
		if again := s.issue(subject, expires); again != token {
			t.Fatalf("Check accepted %q for %q; the ticket issued for its expiry is %q", token, subject, again)
		}
	})
}

// TestTicketFuzzCorpus checks FuzzCheck's checked-in corpus: it holds the
// far-future tickets, which pass, and one of 2000, which has expired.
func TestTicketFuzzCorpus(t *testing.T) {
	s, err := NewSigner(fuzzKey)
	if err != nil {
		t.Fatal(err)
	}
	var corpus []byte
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzCheck", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		corpus = append(corpus, b...)
	}
	expired := s.issue("private", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := s.Check(expired, "private"); !errors.Is(err, ErrExpired) {
		t.Errorf("the ticket of 2000: %v, want ErrExpired", err)
	}
	tickets := []string{expired}
	for i, ft := range farFuture {
		token := s.issue(ft.subject, ft.expires)
		if _, err := s.Check(token, ft.subject); err != nil {
			t.Errorf("far-future ticket %d: %v", i, err)
		}
		tickets = append(tickets, token)
	}
	for _, token := range tickets {
		if !bytes.Contains(corpus, []byte(strconv.Quote(token))) {
			t.Errorf("the corpus lacks the ticket %q", token)
		}
	}
}
