package topiclog

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestDeliverPolicies: what a subscriber receives, by how far behind it
// is and the policy. Each log has had the items up to 100 before the
// subscriber joins; the items are appended and the log closed before
// Deliver runs, so that it delivers all it can and ends.
func TestDeliverPolicies(t *testing.T) {
	tests := []struct {
		name          string
		limit, buffer int
		disconnect    bool
		before        uint64 // the log holds 101 … before when the subscriber joins
		lastID        string
		after         uint64 // the log holds before+1 … after when Deliver runs
		want          []string
		wantErr       string // empty: ends with errClosed
	}{
		{"live, within the buffer", 8, 4, true, 100, "", 104, ids(101, 104), ""},
		{"Disconnect: one beyond the buffer", 8, 4, true, 100, "", 105, nil, "slow: 5 events behind"},
		{"DropOldest: one beyond the buffer", 8, 4, false, 100, "", 105, append([]string{"missed:1"}, ids(102, 105)...), ""},
		{"the replay does not count against the buffer", 8, 2, true, 108, "100", 108, ids(101, 108), ""},
		{"replay and live within the buffer", 8, 2, true, 106, "100", 108, ids(101, 108), ""},
		{"Disconnect: live beyond the buffer after a replay", 8, 4, true, 104, "100", 110, ids(101, 104), "slow: 6 events behind"},
		{"DropOldest: live beyond the buffer after a replay", 8, 4, false, 104, "100", 110, slices.Concat(ids(101, 104), []string{"missed:2"}, ids(107, 110)), ""},
		// The replay is what the log kept when the subscriber was placed,
		// even if the log forgets it before the subscriber takes it.
		{"Disconnect: the whole log replayed, then one more", 8, 8, true, 108, "100", 109, ids(101, 109), ""},
		{"DropOldest: the whole log replayed, then a log's worth more", 8, 8, false, 108, "100", 116, ids(101, 116), ""},
		{"a buffer beyond the limit counts as the limit", 4, 100, true, 100, "", 105, nil, "slow: 5 events behind"},
		{"reset, then live", 4, 4, true, 104, "50", 106, []string{"reset:too-old@104", "105", "106"}, ""},
		{"reset for an unknown id", 4, 4, true, 104, "105", 105, []string{"reset:unknown@104", "105"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(testConfig(tt.limit, tt.buffer, tt.disconnect), 101)
			appendIDs(l, 101, tt.before)
			start := l.Resume(tt.lastID, l.Kept())
			appendIDs(l, tt.before+1, tt.after)
			l.Close(errClosed)
			var got []string
			err := l.Deliver(t.Context(), start, func(item string) error {
				got = append(got, item)
				return nil
			})
			switch {
			case tt.wantErr == "" && err != errClosed:
				t.Errorf("Deliver returned %v, want %v", err, errClosed)
			case tt.wantErr != "" && (!errors.Is(err, errSlow) || err.Error() != tt.wantErr):
				t.Errorf("Deliver returned %v, want %q wrapping %v", err, tt.wantErr, errSlow)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delivered %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDeliverForgotten: items the log forgot before a subscriber took
// them, because they expired or the log skipped ahead, are missed even
// within the buffer.
func TestDeliverForgotten(t *testing.T) {
	tests := []struct {
		name       string
		disconnect bool
		appendMore func(l *Log[string])
		want       []string
		wantErr    string
	}{
		{"expired, DropOldest", false, func(l *Log[string]) {
			appendIDs(l, 101, 102)
			time.Sleep(2 * time.Minute)
			appendIDs(l, 103, 103)
		}, []string{"missed:2", "103"}, ""},
		{"expired, Disconnect", true, func(l *Log[string]) {
			appendIDs(l, 101, 102)
			time.Sleep(2 * time.Minute)
			appendIDs(l, 103, 103)
		}, nil, "slow: 3 events behind"},
		{"a gap, DropOldest", false, func(l *Log[string]) {
			appendIDs(l, 101, 102)
			appendIDs(l, 110, 110)
		}, []string{"missed:9", "110"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := New(testConfig(8, 8, tt.disconnect), 101)
				start := l.Resume("", l.Kept())
				tt.appendMore(l)
				l.Close(errClosed)
				var got []string
				err := l.Deliver(t.Context(), start, func(item string) error {
					got = append(got, item)
					return nil
				})
				if tt.wantErr == "" && err != errClosed || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
					t.Errorf("Deliver returned %v, want %q", err, tt.wantErr)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("delivered %q, want %q", got, tt.want)
				}
			})
		})
	}
}

// subscriber runs Deliver in the background, recording what it yields,
// until the test ends.
type subscriber struct {
	mu   sync.Mutex
	got  []string
	err  error
	done chan struct{}
}

func subscribe(t *testing.T, ctx context.Context, l *Log[string], start Start[string], yield func(string) error) *subscriber {
	s := &subscriber{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		err := l.Deliver(ctx, start, func(item string) error {
			s.mu.Lock()
			s.got = append(s.got, item)
			s.mu.Unlock()
			if yield != nil {
				return yield(item)
			}
			return nil
		})
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}()
	t.Cleanup(func() { <-s.done })
	return s
}

// received returns what s has received so far.
func (s *subscriber) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// TestDeliverWaits: a subscriber waits for new items, receives each once
// and in order, and ends with its context.
func TestDeliverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(testConfig(8, 8, true), 101)
		ctx, cancel := context.WithCancelCause(t.Context())
		s := subscribe(t, ctx, l, l.Resume("", l.Kept()), nil)
		synctest.Wait()
		if got := s.received(); len(got) != 0 {
			t.Fatalf("received %q before any Append", got)
		}
		appendIDs(l, 101, 103)
		synctest.Wait()
		appendIDs(l, 104, 104)
		synctest.Wait()
		if got, want := s.received(), ids(101, 104); !slices.Equal(got, want) {
			t.Fatalf("received %q, want %q", got, want)
		}
		cause := errors.New("gone")
		cancel(cause)
		<-s.done
		if s.err != cause {
			t.Errorf("Deliver returned %v, want the context's cause %v", s.err, cause)
		}
	})
}

// TestDeliverUntilClose: a subscriber in the middle of a batch when the
// log is closed still delivers every item appended before Close.
func TestDeliverUntilClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(testConfig(8, 8, true), 101)
		appendIDs(l, 101, 101)
		release := make(chan struct{})
		s := subscribe(t, t.Context(), l, l.Resume("100", l.Kept()), func(string) error {
			<-release
			return nil
		})
		synctest.Wait() // yielding 101
		appendIDs(l, 102, 104)
		l.Close(errClosed)
		close(release)
		<-s.done
		if got, want := s.received(), ids(101, 104); !slices.Equal(got, want) {
			t.Errorf("received %q, want %q", got, want)
		}
		if s.err != errClosed {
			t.Errorf("Deliver returned %v, want %v", s.err, errClosed)
		}
	})
}

// TestDeliverYieldFails: Deliver returns yield's error at once.
func TestDeliverYieldFails(t *testing.T) {
	l := New(testConfig(8, 8, true), 101)
	appendIDs(l, 101, 103)
	errStop := errors.New("stop")
	var got []string
	err := l.Deliver(t.Context(), l.Resume("100", l.Kept()), func(item string) error {
		got = append(got, item)
		return errStop
	})
	if err != errStop || !slices.Equal(got, ids(101, 101)) {
		t.Errorf("Deliver received %q and returned %v; want [101] and %v", got, err, errStop)
	}
}

// TestDeliverAheadOfLog: a subscriber placed by a record that the log
// lags behind (natshub's copy of a stream) waits for the log to catch up
// and receives nothing it was placed after.
func TestDeliverAheadOfLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(testConfig(8, 8, true), 101)
		s := subscribe(t, t.Context(), l, l.Resume("104", Range{101, 104}), nil)
		synctest.Wait() // waiting on the empty log
		appendIDs(l, 101, 102)
		synctest.Wait()
		appendIDs(l, 103, 104)
		synctest.Wait()
		if got := s.received(); len(got) != 0 {
			t.Fatalf("received %q, which it was placed after", got)
		}
		appendIDs(l, 105, 106)
		l.Close(errClosed)
		<-s.done
		if got, want := s.received(), ids(105, 106); !slices.Equal(got, want) {
			t.Errorf("received %q, want %q", got, want)
		}
	})
}

// TestDeliverReplayLost: a subscriber placed by a record that the log
// lags behind (natshub's copy of a stream), whose replay the record lost
// before the log had it, is reset to the oldest item the log has, under
// either policy, and is not cut as slow: it never fell behind.
func TestDeliverReplayLost(t *testing.T) {
	for _, disconnect := range []bool{true, false} {
		// Placed after 100, with 101 … 108 kept by the record; the log,
		// still empty, then gets 102 … 109: 101 was lost.
		l := New(testConfig(8, 8, disconnect), 101)
		start := l.Resume("100", Range{101, 108})
		appendIDs(l, 102, 109)
		l.Close(errClosed)
		var got []string
		err := l.Deliver(t.Context(), start, func(item string) error {
			got = append(got, item)
			return nil
		})
		if want := append([]string{"reset:too-old@101"}, ids(102, 109)...); err != errClosed || !slices.Equal(got, want) {
			t.Errorf("Disconnect %v: delivered %q and returned %v; want %q and %v", disconnect, got, err, want, errClosed)
		}
	}
}

// TestDeliverConcurrent: subscribers on goroutines of their own, with no
// fake clock, wake for every item appended while they head for their wait:
// each item is appended as soon as every subscriber has yielded the one
// before, so that each is appended in the moment a lost wake-up needs,
// and one that is lost leaves its subscriber waiting for an item that has
// come. They end with the log's Close, having received every item once.
func TestDeliverConcurrent(t *testing.T) {
	const subscribers, items = 8, 2000
	l := New(testConfig(items, items, true), 1)
	yielded := make(chan struct{}, subscribers)
	subs := make([]*subscriber, subscribers)
	for i := range subs {
		subs[i] = subscribe(t, t.Context(), l, l.Resume("", l.Kept()), func(string) error {
			yielded <- struct{}{}
			return nil
		})
	}
	timeout := time.NewTimer(time.Hour)
	defer timeout.Stop()
	for id := uint64(1); id <= items; id++ {
		appendIDs(l, id, id)
		timeout.Reset(10 * time.Second)
		for n := range subscribers {
			select {
			case <-yielded:
			case <-timeout.C:
				t.Fatalf("item %d: %d of %d subscribers did not take it within 10 s", id, subscribers-n, subscribers)
			}
		}
	}
	l.Close(errClosed)
	for i, s := range subs {
		<-s.done
		if s.err != errClosed {
			t.Errorf("subscriber %d: Deliver returned %v, want %v", i, s.err, errClosed)
		}
		if got := s.received(); !slices.Equal(got, ids(1, items)) {
			t.Errorf("subscriber %d: received %d items, want 1 to %d in order", i, len(got), items)
		}
	}
}
