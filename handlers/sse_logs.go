package handlers

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// DefaultRecentLines is how many of the newest lines a [LogEvents] keeps
// for new clients when its Recent field is zero.
const DefaultRecentLines = 1000

// LogEvents streams a log file to browsers as Server-Sent Events, one
// event per line, that resume after a reconnect with nothing missed and
// nothing twice. It has two halves:
//
//   - Run follows the file with [generator.Follow] (through rotation and
//     truncation) and publishes each new line to a topic of a hub, which
//     gives the line its event id and keeps it for replay;
//   - Handler streams that topic to a client: from its Last-Event-ID on if it
//     resumes (the hub replays what it missed while away), or else
//     starting with the newest lines.
//
// Run must be running for the handler to stream anything new. Start it
// once, on a goroutine the server owns, and end it with the server:
//
//	logs := &handlers.LogEvents{Path: "/var/log/app.log", Hub: hub, Config: streams}
//	go logs.Run(ctx) // joined when the server shuts down
//	r.GET("/events/logs", logs.Handler())
//
// Every client shares the one follower, however many there are. Each line
// is an event of the default type ("message") whose data is the line
// without its line ending (a CR inside a line arrives as LF, as the event
// stream format requires). The zero values of the fields are the defaults;
// Path and Hub must be set, and the fields must not change once Run has
// started. Unlike the other handlers of this package, a LogEvents keeps
// state (the newest lines), so it is used through a pointer.
type LogEvents struct {
	// Path is the file to follow. It comes from the server's
	// configuration; nothing in the request changes it.
	Path string

	// Hub carries the lines from Run to the clients.
	Hub sse.Hub

	// Topic is the hub's topic for the lines. Empty means "logs".
	Topic string

	// MaxLine and PollInterval are those of generator.FollowOptions.
	MaxLine      int
	PollInterval time.Duration

	// Recent is how many of the newest lines are kept for clients that
	// start with some (see Handler). Zero means DefaultRecentLines.
	Recent int

	// Authorize, if not nil, decides whether a request may have the
	// lines, given the hub's topic, before anything is sent; an end it
	// gives ends the stream then with a retry field, after which
	// EventSource reconnects and Authorize decides again. See
	// [Authorizer].
	Authorize Authorizer

	// Retry and Heartbeat are those of sse.EventWriter: the reconnection time
	// sent to clients, and how long a stream may be silent before a
	// heartbeat comment.
	Retry, Heartbeat time.Duration

	// Config holds the settings every stream shares (see sink.Config).
	sink.Config

	mu     sync.Mutex  // held while a line is published and remembered
	recent []sse.Frame // a ring of the newest lines published, oldest at start
	start  int
}

// topic returns the hub's topic for the lines.
func (l *LogEvents) topic() string {
	if l.Topic == "" {
		return "logs"
	}
	return l.Topic
}

// Run follows the file from its end, as [generator.Follow] does without
// first lines, and publishes every line appended to it until ctx ends or
// publishing fails. It returns why: context.Cause(ctx), or sse.ErrHubClosed if the hub
// is closed (which Run learns when it publishes the next line). A file
// missing when Run starts is an error matching
// fs.ErrNotExist; other errors are those of generator.Follow.
func (l *LogEvents) Run(ctx context.Context) error {
	topic := l.topic()
	follow := generator.Follow(l.Path, generator.FollowOptions{MaxLine: l.MaxLine, PollInterval: l.PollInterval})
	return follow(ctx, func(line string) error {
		// Publishing and remembering are one step for newest, so that a
		// new client starts with every line published before it came.
		l.mu.Lock()
		defer l.mu.Unlock()
		e, err := l.Hub.Publish(ctx, topic, sse.Event{Data: line})
		if err != nil {
			return err
		}
		l.remember(e)
		return nil
	})
}

// remember keeps a published line among the newest. l.mu must be held.
func (l *LogEvents) remember(e sse.Event) {
	f, err := sse.NewFrame(e)
	if err != nil {
		return // the hub framed it, so this cannot happen
	}
	limit := l.Recent
	if limit <= 0 {
		limit = DefaultRecentLines
	}
	if len(l.recent) < limit {
		l.recent = append(l.recent, f)
		return
	}
	l.recent[l.start] = f
	l.start = (l.start + 1) % len(l.recent)
}

// newest returns up to n of the newest lines kept, oldest first.
func (l *LogEvents) newest(n int) []sse.Frame {
	l.mu.Lock()
	defer l.mu.Unlock()
	n = min(n, len(l.recent))
	out := make([]sse.Frame, n)
	for i := range n {
		out[i] = l.recent[(l.start+len(l.recent)-n+i)%len(l.recent)]
	}
	return out
}

// Handler returns the gin handler that streams the lines to a client, as
// an event stream that a browser's EventSource resumes when it reconnects:
//
//   - a client that resumes, with a Last-Event-ID header (or a lastEventId
//     parameter, see sse.LastEventID) holding a decimal number, gets the
//     lines published after that event, then every new line; if the hub
//     no longer keeps that event, the hub's sse.EventReset event comes
//     first, telling the client that it missed lines;
//   - any other client (a malformed id counts as none) gets the newest
//     ?lines= lines kept (DefaultTailLines when the parameter is absent;
//     0 to MaxTailLines, and at most Recent, are served; anything else is
//     answered 400 with a JSON [ParamError]), then every new line. If the hub no
//     longer keeps the last of those (the log has been quiet for longer
//     than the hub keeps events), a reset event follows them.
//
// EventSource sends the same URL when it reconnects, so ?lines= applies to
// its first connection only. The response starts at once (see sse.EventWriter).
// Handler panics if Path is empty or Hub is nil.
func (l *LogEvents) Handler() gin.HandlerFunc {
	switch {
	case l.Path == "":
		panic("handlers: LogEvents.Path is empty")
	case l.Hub == nil:
		panic("handlers: LogEvents.Hub is nil")
	}
	w := &sse.EventWriter{Retry: l.Retry, Heartbeat: l.Heartbeat, Config: l.Config}
	return func(c *gin.Context) {
		n, err := intParam(c, "lines", DefaultTailLines, 0, MaxTailLines)
		if err != nil {
			badRequest(c, err)
			return
		}
		left, ok := l.Authorize.check(c, l.topic(), l.Config)
		if !ok {
			return
		}
		ending(w, left).StreamFrames(c, l.subscription(sse.LastEventID(c), int(n)))
	}
}

// subscription returns the producer of one client's stream: the newest n
// lines unless the client resumes from lastID, then the hub's topic from
// the last line sent on, so that no line published meanwhile is missed or
// sent twice.
func (l *LogEvents) subscription(lastID string, n int) generator.Func[sse.Frame] {
	return func(ctx context.Context, yield func(sse.Frame) error) error {
		if _, err := strconv.ParseUint(lastID, 10, 64); err != nil {
			lastID = ""
			for _, f := range l.newest(n) {
				if err := yield(f); err != nil {
					return err
				}
				lastID = f.Event().ID
			}
		}
		return l.Hub.Subscribe(ctx, l.topic(), lastID, yield)
	}
}
