package topiclog

import (
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// newLog returns a log of items numbered base+1 … base+items, whose data
// is their number counted from 1, keeping at most limit; with a MaxAge of a
// minute, the first expired of them appended an hour ago and the rest now.
// As between two appends, the expired ones are not forgotten yet.
func newLog(base uint64, items, limit, expired int) *Log[string] {
	l := New(Config[string]{Limit: limit, MaxAge: time.Minute}, base+1)
	now := time.Now()
	for i := range items {
		at := now
		if i < expired {
			at = now.Add(-time.Hour)
		}
		l.ring.add(base+uint64(i)+1, strconv.Itoa(i+1), at, limit)
	}
	return l
}

func TestResume(t *testing.T) {
	// Items 1001 … 1010; 1005 … 1010 kept; 1005 and 1006 expired.
	l := newLog(1000, 10, 6, 6)
	if got := l.Kept(); got != (Range{1005, 1010}) {
		t.Fatalf("Kept() = %+v; want 1005 … 1010", got)
	}
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
		{"next one expired", "1005", 1011, ResetTooOld},
		{"next one forgotten", "1003", 1011, ResetTooOld},
		{"before the topic", "999", 1011, ResetTooOld},
		{"leading zeros", "0001008", 1009, ""},
		{"never issued", "1011", 1011, ResetUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := placed(l.Resume(tt.lastID, l.Kept()))
			want := place{Next: tt.wantNext, Joined: 1010, Reset: tt.wantReset}
			if got != want {
				t.Errorf("Resume(%q) = %+v; want %+v", tt.lastID, got, want)
			}
		})
	}
}

// TestResumeBehindRecord: a log that is a copy of its topic's record (a
// stream) places subscribers by the record's bounds, and by what it keeps
// itself.
func TestResumeBehindRecord(t *testing.T) {
	tests := []struct {
		name   string
		log    *Log[string]
		record Range
		lastID string
		want   place
	}{
		// The log has had 1001 … 1010 and keeps 1005 … 1010, with 1005
		// and 1006 expired; the record keeps up to 1015.
		{"no id: after the record's newest", newLog(1000, 10, 6, 2), Range{1003, 1015}, "", place{1016, 1015, ""}},
		{"after the log's newest", newLog(1000, 10, 6, 2), Range{1003, 1015}, "1012", place{1013, 1015, ""}},
		{"the log's newest", newLog(1000, 10, 6, 2), Range{1003, 1015}, "1010", place{1011, 1015, ""}},
		{"the record's newest", newLog(1000, 10, 6, 2), Range{1003, 1015}, "1015", place{1016, 1015, ""}},
		{"after the record's newest", newLog(1000, 10, 6, 2), Range{1003, 1015}, "1016", place{1016, 1015, ResetUnknown}},
		{"kept by the record, expired in the log", newLog(1000, 10, 6, 6), Range{1003, 1015}, "1005", place{1016, 1015, ResetTooOld}},
		{"kept by the log, not by the record", newLog(1000, 10, 6, 0), Range{1008, 1015}, "1006", place{1016, 1015, ResetTooOld}},
		{"just before the record's oldest", newLog(1000, 10, 6, 0), Range{1008, 1015}, "1007", place{1008, 1015, ""}},
		// A new log that will start with 1008, and has had nothing yet.
		{"empty log, kept by the record", newLog(1007, 0, 6, 0), Range{1008, 1015}, "1010", place{1011, 1015, ""}},
		{"empty log, before the record", newLog(1007, 0, 6, 0), Range{1008, 1015}, "1006", place{1016, 1015, ResetTooOld}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := placed(tt.log.Resume(tt.lastID, tt.record)); got != tt.want {
				t.Errorf("Resume(%q, %+v) = %+v; want %+v", tt.lastID, tt.record, got, tt.want)
			}
		})
	}
}

// place is a Start without its replay, which tests compare.
type place struct {
	Next, Joined uint64
	Reset        string
}

func placed(s Start[string]) place { return place{s.Next, s.Joined, s.Reset} }

var decimal = regexp.MustCompile(`^[0-9]+$`)

// FuzzResume checks the interpretation of a Last-Event-ID, which comes
// from the request, against a model of the contract, for logs of any
// length, size and age that are their topic's record; and that the ring
// keeps the newest items in order.
func FuzzResume(f *testing.F) {
	f.Add("1005", uint8(10), uint8(6), uint8(2))
	f.Add("", uint8(0), uint8(1), uint8(0))
	f.Add("1000", uint8(3), uint8(8), uint8(0))
	f.Add("99999999999999999999", uint8(200), uint8(16), uint8(100))
	f.Fuzz(func(t *testing.T, lastID string, items, limit, expired uint8) {
		const base = 1000
		limit = max(limit, 1)
		l := newLog(base, int(items), int(limit), int(expired))

		// The ring keeps the newest min(items, limit) in order.
		kept := min(int(items), int(limit))
		k := l.Kept()
		oldest, head := k.Oldest, k.Newest
		if want := base + uint64(items) - uint64(kept) + 1; oldest != want {
			t.Fatalf("oldest kept %d, want %d", oldest, want)
		}
		if want := base + uint64(items); head != want {
			t.Fatalf("head %d, want %d", head, want)
		}
		var want []string
		for i := int(items) - kept; i < int(items); i++ {
			want = append(want, strconv.Itoa(i+1))
		}
		if got := l.ring.appendRange(nil, oldest); !slices.Equal(got, want) {
			t.Fatalf("kept %q, want %q", got, want)
		}

		// The model: the first young item kept, and the contract.
		firstYoung := head + 1
		for n := oldest; n <= head; n++ {
			if n > base+uint64(expired) {
				firstYoung = n
				break
			}
		}
		wantStart := place{Next: head + 1, Joined: head}
		if decimal.MatchString(lastID) {
			v, _ := new(big.Int).SetString(lastID, 10)
			switch {
			case !v.IsUint64():
				// overflow: malformed
			case v.Uint64() > head:
				wantStart.Reset = ResetUnknown
			case v.Uint64()+1 < firstYoung:
				wantStart.Reset = ResetTooOld
			default:
				wantStart.Next = v.Uint64() + 1
			}
		}
		start := l.Resume(lastID, k)
		if got := placed(start); got != wantStart {
			t.Fatalf("Resume(%q) with items %d…%d, young from %d: %+v; want %+v",
				lastID, oldest, head, firstYoung, got, wantStart)
		}
		// The replay, copied: the items from Next to the head.
		var wantReplay []string
		for n := wantStart.Next; n <= head; n++ {
			wantReplay = append(wantReplay, strconv.FormatUint(n-base, 10))
		}
		if !slices.Equal(start.replay, wantReplay) {
			t.Fatalf("Resume(%q) with items %d…%d: replay %q, want %q", lastID, oldest, head, start.replay, wantReplay)
		}
	})
}
