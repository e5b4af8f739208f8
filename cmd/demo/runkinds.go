package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/handlers"
	"github.com/ginstream/ginstream/sse"
)

// reply is the text of a tokens run: what a language model might answer
// when asked what a run is. About 200 words, which arrive in about 10 s.
const reply = `A run is work that the server owns rather than the request that started it. ` +
	`You start one with a POST, and the answer is its address at once; the work goes on in the background. ` +
	`Any number of clients may then watch it: each gets every event from the first one, in order and with ids, ` +
	`and a client that reconnects sends the id of the last event it saw, so it resumes where it left off, ` +
	`with no word missing and none shown twice. Reload the page and the same run is attached again from the start; ` +
	`open it in a second tab and both show the same text. When the run ends, every attached stream gets one final ` +
	`event that says how it ended, completed, failed or cancelled, so that the browser stops reconnecting and ` +
	`nobody takes a cut connection for the end. Use a run when the work is long or costly, when a reload must not ` +
	`start it again, or when several people watch the same thing: a language model's reply, a big export, a ` +
	`deployment's log. A plain stream is simpler and cheaper when the work belongs to one request and may stop ` +
	`when its client leaves. A repeated Idempotency-Key returns the run it started instead of a second one, ` +
	`and a DELETE cancels it, from any instance that shares its store.`

// replyWords are reply's words, the tokens of a tokens run.
var replyWords = strings.Fields(reply)

// Bounds of the runs' query parameters.
const (
	maxTokens      = 2_000  // words of a tokens run (the reply again and again past its end)
	maxCount       = 1_000  // numbers of a count run
	maxCountPause  = 10_000 // ms between two numbers of a count run
	minTokenPause  = 20 * time.Millisecond
	maxTokenPause  = 80 * time.Millisecond
	defaultCount   = 10
	defaultPauseMs = 100
)

// tokensRun is the kind tokens: a simulated language model's reply, a word
// at a time at irregular intervals of 20 to 80 ms, as "token" events
// whose data is the word with its leading space (none before the first),
// so that the text is their concatenation. Query parameters: words (1 to
// 2,000; the reply's length by default, about 10 s) and seed (the
// intervals' random seed, for repeatable runs; random by default).
func tokensRun(c *gin.Context) (generator.Func[sse.Event], error) {
	words, err := queryInt(c, "words", int64(len(replyWords)), 1, maxTokens)
	if err != nil {
		return nil, err
	}
	seed, err := queryInt(c, "seed", 0, 0, 1<<53)
	if err != nil {
		return nil, err
	}
	if _, ok := c.GetQuery("seed"); !ok {
		seed = rand.Int64N(1 << 53)
	}
	return func(ctx context.Context, yield func(sse.Event) error) error {
		rng := rand.New(rand.NewPCG(uint64(seed), 0))
		for i := range int(words) {
			pause := minTokenPause + time.Duration(rng.Int64N(int64(maxTokenPause-minTokenPause+1)))
			if err := sleep(ctx, pause); err != nil {
				return err
			}
			if err := yield(sse.Event{Name: eventToken, Data: token(i)}); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// token returns the ith token of a tokens run: the reply's ith word (from
// the start again past its end), with a space before all but the first.
func token(i int) string {
	w := replyWords[i%len(replyWords)]
	if i == 0 {
		return w
	}
	return " " + w
}

// countRun is the kind count, for tests: "number" events 1, 2, … n, one
// every interval ms. Query parameters: n (1 to 1,000, default 10) and
// interval (0 to 10,000 ms, default 100).
func countRun(c *gin.Context) (generator.Func[sse.Event], error) {
	n, err := queryInt(c, "n", defaultCount, 1, maxCount)
	if err != nil {
		return nil, err
	}
	interval, err := queryInt(c, "interval", defaultPauseMs, 0, maxCountPause)
	if err != nil {
		return nil, err
	}
	pause := time.Duration(interval) * time.Millisecond
	return func(ctx context.Context, yield func(sse.Event) error) error {
		for i := 1; i <= int(n); i++ {
			if i > 1 {
				if err := sleep(ctx, pause); err != nil {
					return err
				}
			}
			if err := yield(sse.Event{Name: eventNumber, Data: strconv.Itoa(i)}); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// sleep waits for d, or until ctx ends: then it returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// queryInt returns the integer query parameter name of c: def when it is
// absent, its value when it is a decimal integer from lo to hi. Anything
// else is refused with a *handlers.ParamError, the 400 of the library's own
// handlers, as is a query string that net/url cannot parse (gin would drop
// parameters from it silently).
func queryInt(c *gin.Context, name string, def, lo, hi int64) (int64, error) {
	pe := &handlers.ParamError{Param: name, Min: lo, Max: hi,
		Msg: fmt.Sprintf("query parameter %q must be an integer from %d to %d", name, lo, hi)}
	if _, err := url.ParseQuery(c.Request.URL.RawQuery); err != nil {
		pe.Msg = fmt.Sprintf("the query string is malformed (%v), so query parameter %q, an integer from %d to %d, cannot be read", err, name, lo, hi)
		return 0, pe
	}
	raw, ok := c.GetQuery(name)
	if !ok {
		return def, nil
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < lo || v > hi {
		pe.Value = raw
		if len(raw) > 64 {
			pe.Value = raw[:64] + "…"
		}
		return 0, pe
	}
	return v, nil
}
