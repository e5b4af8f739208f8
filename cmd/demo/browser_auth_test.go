package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The demo's private topic: /events?topic=private needs a ticket from
// /events/ticket, and its stream ends when the ticket expires.

// shortTickets makes the demo's tickets expire after ttl, for t; call it
// before startDemo, so that the demo has stopped when ticketTTL is
// restored.
func shortTickets(t *testing.T, ttl time.Duration) {
	t.Helper()
	saved := ticketTTL
	ticketTTL = ttl
	t.Cleanup(func() { ticketTTL = saved })
}

// issuedTicket is the answer of /events/ticket.
type issuedTicket struct {
	Topic   string    `json:"topic"`
	Ticket  string    `json:"ticket"`
	Expires time.Time `json:"expires"`
}

// getTicket asks the demo for a ticket, with the Sec-Fetch-Site header
// site unless it is empty, and returns the response, its body and the
// ticket it holds, if any.
func getTicket(t *testing.T, d *demo, query, site string) (*http.Response, []byte, issuedTicket) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, d.url+"/events/ticket"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	res, err := d.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var tk issuedTicket
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &tk); err != nil {
			t.Fatalf("ticket %s: %v", body, err)
		}
	}
	return res, body, tk
}

// TestDemoEventsTicket checks the private topic through HTTP: the ticket
// route (same-origin requests and clients that do not say, such as curl,
// get a ticket; other sites' pages do not; only the private topic has
// tickets; nothing is cached), /events refusing the private topic with 401
// without a valid ticket, and its stream with one, which ends when the
// ticket expires, after which the same URL is refused.
func TestDemoEventsTicket(t *testing.T) {
	shortTickets(t, 2*time.Second)
	d := startDemo(t, t.TempDir(), nil, "-users", "10", "-event-interval", "20ms")

	t.Run("ticket route", func(t *testing.T) {
		for _, tt := range []struct {
			query, site string
			status      int
		}{
			{"?topic=private", "", http.StatusOK},
			{"?topic=private", "same-origin", http.StatusOK},
			{"?topic=private", "cross-site", http.StatusForbidden},
			{"?topic=private", "same-site", http.StatusForbidden},
			{"?topic=private", "none", http.StatusForbidden},
			{"?topic=ticks", "same-origin", http.StatusBadRequest},
			{"", "", http.StatusBadRequest},
		} {
			res, body, tk := getTicket(t, d, tt.query, tt.site)
			if res.StatusCode != tt.status || res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s, Sec-Fetch-Site %q: %d, Cache-Control %q; want %d, no-store: %s",
					tt.query, tt.site, res.StatusCode, res.Header.Get("Cache-Control"), tt.status, body)
				continue
			}
			switch tt.status {
			case http.StatusOK:
				if left := time.Until(tk.Expires); tk.Topic != "private" || len(tk.Ticket) != 55 || left <= 0 || left > ticketTTL {
					t.Errorf("ticket %+v: want one for topic private, expiring within %v", tk, ticketTTL)
				}
			case http.StatusBadRequest:
				var e struct {
					Param   string   `json:"parameter"`
					Allowed []string `json:"allowed"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Param != "topic" || !slices.Equal(e.Allowed, []string{"private"}) {
					t.Errorf("%s: body %s, want a ParamError allowing only private", tt.query, body)
				}
			}
		}
	})

	t.Run("refused without a valid ticket", func(t *testing.T) {
		_, _, tk := getTicket(t, d, "?topic=private", "")
		forged := tk.Ticket[:54] + map[bool]string{false: "A", true: "Q"}[tk.Ticket[54] == 'A'] // another signature
		for _, tt := range []struct{ query, message string }{
			{"?topic=private", "401 Unauthorized: topic private needs a ticket from /events/ticket?topic=private\n"},
			{"?topic=private&ticket=" + url.QueryEscape(forged), "401 Unauthorized: ticket: bad signature\n"},
			{"?topic=private&ticket=nonsense", "401 Unauthorized: ticket: malformed\n"},
		} {
			res, body := d.get(t, "/events"+tt.query)
			if res.StatusCode != http.StatusUnauthorized || string(body) != tt.message || res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: %d %q, WWW-Authenticate %q; want 401 %q with WWW-Authenticate",
					tt.query, res.StatusCode, body, res.Header.Get("WWW-Authenticate"), tt.message)
			}
		}
	})

	t.Run("the stream ends with its ticket", func(t *testing.T) {
		_, _, tk := getTicket(t, d, "?topic=private", "")
		path := "/events?topic=private&ticket=" + tk.Ticket
		s := openEvents(t, d, path, "")
		balances := s.take(t, eventBalance, 3)
		checkConsecutive(t, 0, balances)
		s.retry = -1 // the one the stream opened with is not the one sought
		for {
			e, err := s.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("the private stream failed: %v", err)
			}
			if e.Type != eventBalance {
				t.Fatalf("event %+v on the private topic", e)
			}
		}
		if ended := time.Now(); ended.Before(tk.Expires) {
			t.Errorf("the stream ended at %v, before its ticket's expiry %v", ended, tk.Expires)
		}
		if lo, hi := eventRetry.Milliseconds(), eventRetry.Milliseconds()*3/2; int64(s.retry) < lo || int64(s.retry) > hi {
			t.Errorf("retry field %d ms at the end, want %d to %d", s.retry, lo, hi)
		}
		// EventSource reconnects with the same URL: the ticket has
		// expired.
		res, body := d.get(t, path)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "ticket: expired") {
			t.Errorf("the same URL again: %d %q, want 401, expired", res.StatusCode, body)
		}
	})
}

// TestBrowserPrivateEvents opens the page in headless Chromium and streams
// its private topic, which needs a ticket:
//
//   - the private view gets a ticket and then balance events, with ids
//     that count up one by one;
//   - an EventSource the test opens in the page without a ticket is
//     refused (401): it closes without ever opening, as does one with a
//     ticket the test made up;
//   - as each ticket expires, the server ends the stream and the view
//     gets a new ticket and resumes from its last event id: nothing
//     missing, nothing twice, no reset;
//   - a page whose clock says its ticket is still good reconnects with it
//     and is refused; the view then gets a new ticket and resumes too.
func TestBrowserPrivateEvents(t *testing.T) {
	shortTickets(t, 3*time.Second)
	d := startDemo(t, t.TempDir(), nil, "-users", "10", "-event-interval", "100ms")
	ctx := newBrowser(t)
	do(t, ctx, "opening the page", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("private-connect")))
	tickets := func() int {
		return evaluate[int](t, ctx, `Number(document.getElementById("private-tickets").textContent)`)
	}

	t.Run("with a ticket", func(t *testing.T) {
		do(t, ctx, "connecting", chromedp.Click(chromedp.ID("private-connect")))
		v := waitView(t, ctx, "private", "open, with 5 events", func(v liveView) bool { return v.State == "open" && v.Received >= 5 })
		checkViewIDs(t, "private", v)
		if text := v.Items[0].Text; !strings.Contains(text, "balance ") {
			t.Errorf("first event shown as %q, want a balance", text)
		}
		if url := evaluate[string](t, ctx, `document.getElementById("private-url").textContent`); !strings.Contains(url, "ticket=") {
			t.Errorf("the page connected to %q, want a ticket in the URL", url)
		}
	})

	t.Run("without a ticket: refused", func(t *testing.T) {
		for _, query := range []string{"topic=private", "topic=private&ticket=" + strings.Repeat("A", 55)} {
			evaluate[bool](t, ctx, `(() => {
				const es = new EventSource("/events?`+query+`");
				window.refused = { opened: false, errors: 0, state: -1 };
				es.onopen = () => { window.refused.opened = true; };
				es.onerror = () => { window.refused.errors++; window.refused.state = es.readyState; };
				return true;
			})()`)
			waitInPage(t, ctx, "the EventSource without a ticket fails", `window.refused.errors > 0`)
			time.Sleep(500 * time.Millisecond) // time to open, were it going to; not an assertion
			got := evaluate[struct {
				Opened bool `json:"opened"`
				Errors int  `json:"errors"`
				State  int  `json:"state"`
			}](t, ctx, `window.refused`)
			if got.Opened || got.Errors != 1 || got.State != 2 {
				t.Errorf("%s: opened %v, %d errors, readyState %d; want never opened, one error, CLOSED (2)", query, got.Opened, got.Errors, got.State)
			}
		}
		// What the EventSource was told, as fetch sees it.
		waitInPage(t, ctx, "fetch without a ticket gets 401", `(() => {
			if (!window.fetched) {
				window.fetched = "pending";
				fetch("/events?topic=private", { headers: { Accept: "text/event-stream" } })
					.then(async (res) => { window.fetched = res.status + " " + await res.text(); });
			}
			return window.fetched !== "pending";
		})()`)
		if got := evaluate[string](t, ctx, `window.fetched`); !strings.HasPrefix(got, "401 401 Unauthorized: topic private needs a ticket") {
			t.Errorf("fetch without a ticket: %q, want 401 saying a ticket is needed", got)
		}
	})

	t.Run("tickets expire: new ticket, resume", func(t *testing.T) {
		before := readView(t, ctx, "private")
		n := tickets()
		v := waitView(t, ctx, "private", "two more tickets, and 10 more events", func(v liveView) bool {
			return v.State == "open" && tickets() >= n+2 && v.Received >= before.Received+10
		})
		if runs := checkViewIDs(t, "private", v); len(runs) != 1 || v.Resets != 0 {
			t.Fatalf("%d runs of events and %d resets, want one run across the tickets", len(runs), v.Resets)
		}
		renewed := slices.ContainsFunc(v.Items, func(it liveItem) bool {
			return it.Kind == "ticket" && strings.Contains(it.Text, "expired")
		})
		if !renewed {
			t.Errorf("no note of an expired ticket among %+v", v.Items)
		}
	})

	t.Run("a ticket refused: new ticket, resume", func(t *testing.T) {
		before := readView(t, ctx, "private")
		// The page's clock says the ticket never expires, so the view
		// lets EventSource reconnect with it when the stream ends. (Until
		// then, again and again: a ticket fetched meanwhile replaces it.)
		v := waitView(t, ctx, "private", "a ticket refused, then 10 more events", func(v liveView) bool {
			refused := slices.IndexFunc(v.Items, func(it liveItem) bool {
				return it.Kind == "ticket" && strings.Contains(it.Text, "refused")
			})
			if refused < 0 {
				evaluate[bool](t, ctx, `livePrivate.ticketExpires = Infinity, true`)
			}
			return v.State == "open" && refused >= 0 && len(v.Items)-refused > 10
		})
		if runs := checkViewIDs(t, "private", v); len(runs) != 1 || v.Resets != 0 {
			t.Fatalf("%d runs of events and %d resets, want one run across the refusal", len(runs), v.Resets)
		}
		if v.Received <= before.Received {
			t.Errorf("received %d, want more than %d", v.Received, before.Received)
		}
	})
}
