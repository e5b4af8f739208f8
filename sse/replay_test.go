package sse

import (
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// newReplay returns a log of events numbered base+1 … base+events, keeping
// at most limit, the first expired of them published an hour ago and the
// rest now; and the cutoff that makes those expired.
func newReplay(base uint64, events, limit, expired int) (*replay, time.Time) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := &replay{base: base, head: base}
	for i := range events {
		at := now
		if i < expired {
			at = now.Add(-time.Hour)
		}
		r.add(Frame{&frame{event: Event{Data: strconv.Itoa(i + 1)}, at: at}}, limit)
	}
	return r, now.Add(-time.Minute)
}

func TestReplayResume(t *testing.T) {
	const base = 1000
	// Events 1001 … 1010; 1005 … 1010 kept; 1005 and 1006 expired.
	r, cutoff := newReplay(base, 10, 6, 6)
	tests := []struct {
		name      string
		lastID    string
		wantNext  uint64
		wantReset string
	}{
		{"no id", "", 1011, ""},
		{"malformed", "abc", 1011, ""},
		{"sign", "+1008", 1011, ""},
		{"overflow", "18446744073709551616", 1011, ""},
		{"newest", "1010", 1011, ""},
		{"kept and young", "1008", 1009, ""},
		{"just before the first young one", "1006", 1007, ""},
		{"next one expired", "1005", 1011, resetTooOld},
		{"next one forgotten", "1003", 1011, resetTooOld},
		{"before the topic", "999", 1011, resetTooOld},
		{"leading zeros", "0001008", 1009, ""},
		{"never issued", "1011", 1011, resetUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, reset := r.resume(tt.lastID, cutoff)
			if next != tt.wantNext || reset != tt.wantReset {
				t.Errorf("resume(%q) = %d, %q; want %d, %q", tt.lastID, next, reset, tt.wantNext, tt.wantReset)
			}
		})
	}
}

var decimal = regexp.MustCompile(`^[0-9]+$`)

// FuzzResume checks the interpretation of a Last-Event-ID, which comes
// from the request, against a model of the contract, for logs of any
// length, size and age; and that the ring keeps the newest events in
// order.
func FuzzResume(f *testing.F) {
	f.Add("1005", uint8(10), uint8(6), uint8(2))
	f.Add("", uint8(0), uint8(1), uint8(0))
	f.Add("1000", uint8(3), uint8(8), uint8(0))
	f.Add("99999999999999999999", uint8(200), uint8(16), uint8(100))
	f.Fuzz(func(t *testing.T, lastID string, events, limit, expired uint8) {
		const base = 1000
		limit = max(limit, 1)
		r, cutoff := newReplay(base, int(events), int(limit), int(expired))

		// The ring keeps the newest min(events, limit) in order.
		kept := min(int(events), int(limit))
		if got := r.oldest(); got != base+uint64(events)-uint64(kept)+1 {
			t.Fatalf("oldest kept %d, want %d", got, base+uint64(events)-uint64(kept)+1)
		}
		var want, got []string
		for i := int(events) - kept; i < int(events); i++ {
			want = append(want, strconv.Itoa(i+1))
		}
		for _, f := range r.appendRange(nil, r.oldest()) {
			got = append(got, f.Event().Data)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("kept %q, want %q", got, want)
		}

		// The model: the first young event kept, and the contract.
		head := base + uint64(events)
		firstYoung := head + 1
		for n := base + uint64(events) - uint64(kept) + 1; n <= head; n++ {
			if n > base+uint64(expired) {
				firstYoung = n
				break
			}
		}
		wantNext, wantReset := head+1, ""
		if decimal.MatchString(lastID) {
			v, _ := new(big.Int).SetString(lastID, 10)
			switch {
			case !v.IsUint64():
				// overflow: malformed
			case v.Uint64() > head:
				wantReset = resetUnknown
			case v.Uint64()+1 < firstYoung:
				wantReset = resetTooOld
			default:
				wantNext = v.Uint64() + 1
			}
		}
		next, reset := r.resume(lastID, cutoff)
		if next != wantNext || reset != wantReset {
			t.Fatalf("resume(%q) with events %d…%d, young from %d: %d, %q; want %d, %q",
				lastID, r.oldest(), head, firstYoung, next, reset, wantNext, wantReset)
		}
	})
}
