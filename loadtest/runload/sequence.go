package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The names of the events a client expects.
const (
	eventNumber = "number" // a count run's next number (cmd/demo/runkinds.go)
	eventTick   = "tick"   // topic ticks: {"n": 7, "time": "…"} (cmd/demo/events.go)
	eventEnd    = "end"    // a run's final event: its Info as JSON (sse.EventEnd)
)

// sequence checks the events of one stream: events named name whose
// indexes (read from their data by index) follow one another, from first,
// and for a run, after last, the end event of a completed run. Blocks
// without a name (the retry field, heartbeats) are passed over; any
// other event is an error.
type sequence struct {
	name  string
	index func(data string) (int, error)
	first int  // the index the first event must have; 0 for any
	last  int  // the index of the last event before the end event; 0 for a stream without an end
	next  int  // the index due next; 0 before the first
	ended bool // the end event arrived, after last
}

// runSequence checks a count run of the numbers 1 to n: all of them, in
// order, then its end, completed.
func runSequence(n int) sequence {
	return sequence{name: eventNumber, index: strconv.Atoi, first: 1, last: n}
}

// tickSequence checks topic ticks: consecutive ticks from any.
func tickSequence() sequence {
	return sequence{name: eventTick, index: tickIndex}
}

// tickIndex returns the number of a tick, from its data.
func tickIndex(data string) (int, error) {
	var t struct{ N int }
	err := json.Unmarshal([]byte(data), &t)
	return t.N, err
}

// see checks ev. It reports whether ev is one of the events counted, and
// returns errStop after a good end event, or what is wrong.
func (s *sequence) see(ev event) (counted bool, err error) {
	switch {
	case ev.name == "":
		return false, nil
	case ev.name == s.name:
		i, err := s.index(ev.data)
		if err != nil {
			return false, fmt.Errorf("%s %q: %w", s.name, ev.data, err)
		}
		due := s.next
		if due == 0 {
			due = s.first
		}
		switch {
		case s.last != 0 && i > s.last:
			return false, fmt.Errorf("%s %d after the last, %d", s.name, i, s.last)
		case due != 0 && i != due:
			return false, fmt.Errorf("%s %d where %d was due", s.name, i, due)
		}
		s.next = i + 1
		return true, nil
	case ev.name == eventEnd && s.last != 0:
		var info struct{ State string }
		if err := json.Unmarshal([]byte(ev.data), &info); err != nil || info.State != "completed" {
			return false, fmt.Errorf("end event %q: not a completed run", ev.data)
		}
		if s.next != s.last+1 {
			return false, fmt.Errorf("end event after %s %d of %d", s.name, s.next-1, s.last)
		}
		s.ended = true
		return false, errStop
	default:
		return false, fmt.Errorf("unexpected event %q: %q", ev.name, ev.data)
	}
}

// complete returns nil if the stream read so far is whole: for a run,
// it ended; for a topic, it had an event. Otherwise it says what is
// missing.
func (s *sequence) complete() error {
	switch {
	case s.last != 0 && !s.ended:
		return fmt.Errorf("no end event, after %s %d of %d", s.name, max(s.next-1, 0), s.last)
	case s.next == 0:
		return errors.New("no " + s.name + " event")
	}
	return nil
}
