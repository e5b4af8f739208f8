package handlers

import (
	"cmp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/sink"
)

// Defaults for [Tail] and [LogEvents].
const (
	// DefaultTailLines is how many lines [Tail] starts with when the
	// request has no ?lines= parameter.
	DefaultTailLines = 10
	// MaxTailLines is the most lines ?lines= may ask [Tail] for.
	MaxTailLines = 10_000
)

// Tail follows a log file with [generator.Follow] and streams its lines as
// text, one per line: tail -F over HTTP. The zero values of its fields are
// the defaults; Path must be set.
//
//	r.GET("/stream/logs", handlers.Tail{Path: "/var/log/app.log", Config: streams}.Handler())
type Tail struct {
	// Path is the file to follow. It comes from the server's
	// configuration; nothing in the request changes it. It must not be
	// empty.
	Path string

	// MaxLine and PollInterval are those of generator.FollowOptions.
	MaxLine      int
	PollInterval time.Duration

	// Authorize, if not nil, decides whether the request may follow the
	// file, given Path, before it is opened; an end it gives cuts the
	// stream then. See [Authorizer].
	Authorize Authorizer

	// Config holds the settings every stream shares (see sink.Config).
	// Its HeaderTimeout lets a client that asks for ?lines=0 of a quiet
	// file learn at once that the stream is open.
	sink.Config
}

// Handler returns the gin handler that streams the file's last ?lines=
// lines (DefaultTailLines when the parameter is absent; 0 to MaxTailLines,
// anything else is answered 400 with a JSON [ParamError]), then each line
// appended to it, until the client leaves. A missing file is answered 404.
// Handler panics if Path is empty.
//
// Without a HeaderTimeout, the response starts with its first line: a
// client asking for ?lines=0 of a quiet file waits for the headers until a
// line is written.
func (t Tail) Handler() gin.HandlerFunc {
	if t.Path == "" {
		panic("handlers: Tail.Path is empty")
	}
	w := &sink.Writer[string]{Encoder: sink.Lines[string]{}, Config: t.Config}
	return func(c *gin.Context) {
		lines, err := intParam(c, "lines", DefaultTailLines, 0, MaxTailLines)
		if err != nil {
			badRequest(c, err)
			return
		}
		left, ok := t.Authorize.check(c, t.Path, t.Config)
		if !ok {
			return
		}
		follow := *w
		follow.MaxDuration = cmp.Or(left, follow.MaxDuration)
		follow.Stream(c, generator.Follow(t.Path, generator.FollowOptions{
			Lines:        int(lines),
			MaxLine:      t.MaxLine,
			PollInterval: t.PollInterval,
		}))
	}
}
