package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ginstream/ginstream/runs"
)

// runPanel is what the page's Runs panel shows.
type runPanel struct {
	State string `json:"state"` // the badge's: starting, running, reconnecting, completed, failed, cancelled, error
	ID    string `json:"id"`
	Text  string `json:"text"`
	Hash  string `json:"hash"`
}

// readRunPanel returns what the page's Runs panel shows.
func readRunPanel(t *testing.T, ctx context.Context) runPanel {
	t.Helper()
	return evaluate[runPanel](t, ctx, `({
		state: document.getElementById("runs-status").dataset.state,
		id: document.getElementById("runs-id").textContent,
		text: document.getElementById("runs-text").textContent,
		hash: location.hash,
	})`)
}

// waitRunPanel polls the Runs panel until cond holds.
func waitRunPanel(t *testing.T, ctx context.Context, what string, cond func(p runPanel) bool) runPanel {
	t.Helper()
	var p runPanel
	waitUntil(t, "runs panel: "+what, func() bool {
		p = readRunPanel(t, ctx)
		return cond(p)
	})
	return p
}

// TestBrowserRuns uses the page's Runs panel in headless Chromium:
//
//   - a tokens run opened by its URL (#run=ID) shows its words as they
//     come; reloaded in the middle of the run, the page attaches again
//     from the first event and in the end shows exactly the run's text:
//     no word twice (as if it had added the replay to what it had before
//     the reload), none missing;
//   - the same URL in a second tab shows the same text;
//   - Start starts a run and puts its id in the URL; Cancel cancels it,
//     and the panel says so.
func TestBrowserRuns(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "10")
	ctx := newBrowser(t)

	t.Run("reload in the middle: the whole text, once", func(t *testing.T) {
		// 60 words at 20 to 80 ms: about 3 s.
		id := startRun(t, d, "kind=tokens&words=60")
		do(t, ctx, "opening the run's page", chromedp.Navigate(d.url+"/#run="+id), chromedp.WaitVisible(chromedp.ID("runs-text")))
		before := waitRunPanel(t, ctx, "10 words shown while running", func(p runPanel) bool {
			return len(strings.Fields(p.Text)) >= 10
		})
		if before.ID != id || before.State != "running" {
			t.Fatalf("before the reload the panel shows %+v, want run %s running", before, id)
		}
		reloaded := time.Now()
		do(t, ctx, "reloading the page", chromedp.Reload())
		after := waitRunPanel(t, ctx, "the run's end shown", func(p runPanel) bool { return p.State == string(runs.Completed) })

		items := readRunNDJSON(t, d, id, "")
		want := strings.Join(named(items, eventToken), "")
		if n := len(strings.Fields(want)); n != 60 {
			t.Fatalf("the run's output has %d words, want 60: %q", n, want)
		}
		if !strings.HasPrefix(want, before.Text) {
			t.Fatalf("before the reload the page showed %q, want a beginning of the run's text %q", before.Text, want)
		}
		if ended := items[len(items)-1].endInfo(t).Ended; !ended.After(reloaded) {
			t.Fatalf("the run ended at %v, before the reload at %v: the reload was not in the middle of it", ended, reloaded)
		}
		if after.Text != want {
			t.Errorf("after the reload the page shows\n%q\nwant the run's text\n%q", after.Text, want)
		}
		if after.ID != id || after.Hash != "#run="+id {
			t.Errorf("after the reload the panel shows run %q at %q, want %s at #run=%[3]s", after.ID, after.Hash, id)
		}

		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		// The tab lives as long as the context of its first action: do's
		// would close it when it returns.
		if err := chromedp.Do(tab); err != nil {
			t.Fatalf("opening a second tab: %v", err)
		}
		do(t, tab, "opening the run in a second tab", chromedp.Navigate(d.url+"/#run="+id), chromedp.WaitVisible(chromedp.ID("runs-text")))
		second := waitRunPanel(t, tab, "the ended run shown in the second tab", func(p runPanel) bool { return p.State == string(runs.Completed) })
		if second.Text != want {
			t.Errorf("the second tab shows %q, want %q", second.Text, want)
		}
	})

	t.Run("Start, then Cancel", func(t *testing.T) {
		do(t, ctx, "opening the page", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("runs-start")))
		do(t, ctx, "starting a tokens run",
			chromedp.SetValue(chromedp.ID("runs-kind"), "tokens"),
			chromedp.Click(chromedp.ID("runs-start")),
		)
		p := waitRunPanel(t, ctx, "running, with words", func(p runPanel) bool { return p.State == "running" && p.Text != "" })
		if p.Hash != "#run="+p.ID || runLocation.FindString("/runs/"+p.ID) == "" {
			t.Errorf("the page shows run %q at %q, want its id in the URL as #run=ID", p.ID, p.Hash)
		}
		do(t, ctx, "cancelling", chromedp.Click(chromedp.ID("runs-cancel")))
		waitRunPanel(t, ctx, "cancelled", func(p runPanel) bool { return p.State == string(runs.Cancelled) })
		items := readRunNDJSON(t, d, p.ID, "")
		if info := items[len(items)-1].endInfo(t); info.State != runs.Cancelled {
			t.Errorf("the run's end says %+v, want cancelled", info)
		}
	})
}
