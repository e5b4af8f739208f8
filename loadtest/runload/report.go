package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/latency"
)

// writeTable writes the result as one Markdown table, after a line that
// says what was run.
func (r *result) writeTable(w io.Writer) error {
	c := r.cfg
	a, run, topic := &r.attach, &r.run, &r.topic
	var b strings.Builder
	fmt.Fprintf(&b, "runload: %d attaches over each of NDJSON and SSE to an ended run of %s numbers; %s clients (SSE) attached to a run of %s numbers %v apart, then subscribed to topic ticks (a tick every %v) as long\n\n",
		c.attaches, count(c.replay), count(c.clients), count(c.events), c.interval, c.interval)
	b.WriteString("| figure | attached to a run | subscribed to topic ticks |\n|---|---:|---:|\n")
	row := func(name, run, topic string) { fmt.Fprintf(&b, "| %s | %s | %s |\n", name, run, topic) }
	replay := count(c.replay)
	row("attach over NDJSON: first number, p50 / p99", pair(&a.ndjson.first), "—")
	row("attach over NDJSON: all "+replay+" numbers and the end, p50 / p99", pair(&a.ndjson.whole), "—")
	row("attach over SSE: first number, p50 / p99", pair(&a.sse.first), "—")
	row("attach over SSE: all "+replay+" numbers and the end, p50 / p99", pair(&a.sse.whole), "—")
	row("attaches correct: 1 to "+replay+" in order, then the end", fmt.Sprintf("NDJSON %s / %s, SSE %s / %s",
		count(a.ndjson.correct), count(a.ndjson.tried), count(a.sse.correct), count(a.sse.tried)), "—")
	row("clients correct: every event in order (a run's: 1 to "+count(c.events)+", then the end)",
		count(run.correct)+" / "+count(run.clients), count(topic.correct)+" / "+count(topic.clients))
	row("demo RSS: before the clients / attached (median) / at the end", rssRow(run), rssRow(topic))
	row("RSS growth per client (attached − before)", kib(run.perClient()), kib(topic.perClient()))
	row("RSS growth per client beyond the topic's", kib(run.perClient()-topic.perClient()), "—")
	row("window: all attached to the end", seconds(run.window), seconds(topic.window))
	row("demo CPU in the window", seconds(run.cpu), seconds(topic.cpu))
	row("deliveries in the window", count(int(run.deliveries)), count(int(topic.deliveries)))
	row("demo CPU per delivery", perDelivery(run), perDelivery(topic))
	row("arrival spread across clients, p50 / p99 / max (events)", spread(run), spread(topic))
	_, err := io.WriteString(w, b.String())
	return err
}

// verdict returns an error if a check failed: an attach or a client
// whose stream was not whole and in order.
func (r *result) verdict() error {
	var errs []error
	for _, f := range []struct {
		what           string
		correct, tried int
		errs           *errorList
	}{
		{"attaches over NDJSON", r.attach.ndjson.correct, r.attach.ndjson.tried, &r.attach.ndjson.errs},
		{"attaches over SSE", r.attach.sse.correct, r.attach.sse.tried, &r.attach.sse.errs},
		{"clients of the run", r.run.correct, r.run.clients, &r.run.errs},
		{"clients of the topic", r.topic.correct, r.topic.clients, &r.topic.errs},
	} {
		if f.correct < f.tried {
			errs = append(errs, fmt.Errorf("%s: %d of %d failed: %s", f.what, f.tried-f.correct, f.tried, f.errs.String()))
		}
	}
	return errors.Join(errs...)
}

// perClient returns the RSS growth per client, in bytes.
func (p *livePhase) perClient() float64 {
	if p.clients == 0 {
		return 0
	}
	return float64(p.rssAttached-p.rssBefore) / float64(p.clients)
}

// rssRow formats the RSS before, attached and at the end, in MiB.
func rssRow(p *livePhase) string {
	end := "—"
	if p.rssEnd > 0 {
		end = fmt.Sprintf("%.1f", float64(p.rssEnd)/(1<<20))
	}
	return fmt.Sprintf("%.1f / %.1f / %s MiB", float64(p.rssBefore)/(1<<20), float64(p.rssAttached)/(1<<20), end)
}

// perDelivery formats the CPU time per delivery.
func perDelivery(p *livePhase) string {
	if p.deliveries == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f µs", float64(p.cpu.Microseconds())/float64(p.deliveries))
}

// spread formats the arrival spread's quantiles and the events it covers.
func spread(p *livePhase) string {
	h := &p.spread
	return fmt.Sprintf("%s / %s / %s ms (%s)", ms(h.Quantile(0.5)), ms(h.Quantile(0.99)), ms(h.Max()), count(p.spreadEvents))
}

// pair formats a histogram's p50 and p99.
func pair(h *latency.Histogram) string {
	return ms(h.Quantile(0.5)) + " / " + ms(h.Quantile(0.99)) + " ms"
}

// ms formats d in milliseconds, with two decimals below 10 ms and one
// above.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	if f < 10 {
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// seconds formats d in seconds, with two decimals.
func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// kib formats bytes in KiB, with one decimal.
func kib(bytes float64) string { return fmt.Sprintf("%.1f KiB", bytes/1024) }

// count formats n with commas between thousands.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
