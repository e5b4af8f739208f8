package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/ginstream/ginstream/internal/testscale"
)

// chromiumPath is Debian's chromium package's program.
const chromiumPath = "/usr/bin/chromium"

// newBrowser starts a headless Chromium with a fresh profile for t and
// returns a context of a tab in it; t's end closes the browser and waits
// for it to exit. Without Chromium it skips t, or fails it in CI.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if testscale.CI() {
			t.Fatalf("CI needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
		}
		t.Skipf("no Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	profile := t.TempDir() // removed after the browser has exited: cleanups run last-in first-out
	var output bytes.Buffer
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers have a small /dev/shm
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
		chromedp.CombinedOutput(&output),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser to exit
		if t.Failed() {
			t.Logf("Chromium's output:\n%s", output.String())
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// evaluate runs a JavaScript expression in the tab and returns its value.
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// do runs browser actions, failing t on an error.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(actx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitInPage polls a JavaScript condition until it is true, failing t if it
// is not within a generous deadline.
func waitInPage(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !evaluate[bool](t, ctx, cond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s (%s)", what, cond)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBrowserPage opens the demo's page in a real headless Chromium and
// uses it as a visitor would: numbers appear one after another while they
// stream, the stop button ends a stream on the server, log lines arrive as
// the demo writes them, and both downloads arrive whole.
//
// With DEMO_SCREENSHOT=file.png it also saves a screenshot of the page
// while both streams run.
func TestBrowserPage(t *testing.T) {
	d := startDemo(t, t.TempDir(), nil, "-users", "3000")
	ctx := newBrowser(t)
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:     browser.SetDownloadBehaviorBehaviorAllow,
		DownloadPath: downloads,
	}); err != nil {
		t.Fatalf("setting the download directory: %v", err)
	}
	do(t, ctx, "opening the page", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("numbers-start")))
	if title := evaluate[string](t, ctx, `document.title`); title != "ginstream demo" {
		t.Fatalf("title = %q", title)
	}

	t.Run("numbers arrive one after another", func(t *testing.T) {
		// 40 numbers 100 ms apart: about 4 s of streaming. Sample the
		// progress as fast as the page answers until the stream is done.
		const count = 40
		do(t, ctx, "starting the numbers",
			chromedp.SetValue(chromedp.ID("numbers-count"), fmt.Sprint(count)),
			chromedp.SetValue(chromedp.ID("numbers-interval"), "100"),
			chromedp.Click(chromedp.ID("numbers-start")),
		)
		var samples []int
		deadline := time.Now().Add(time.Minute)
		for {
			s := evaluate[struct {
				Received int    `json:"received"`
				State    string `json:"state"`
			}](t, ctx, `({received: document.getElementById("numbers-progress").value,
				state: document.getElementById("numbers-status").dataset.state})`)
			samples = append(samples, s.Received)
			if s.State != "streaming" {
				if s.State != "done" {
					t.Fatalf("the stream ended in state %q", s.State)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still streaming after a minute; samples %v", samples)
			}
			time.Sleep(50 * time.Millisecond)
		}
		var partial []int
		for i, n := range samples {
			if i > 0 && n < samples[i-1] {
				t.Fatalf("the count went down: samples %v", samples)
			}
			if n > 0 && n < count && (len(partial) == 0 || n != partial[len(partial)-1]) {
				partial = append(partial, n)
			}
		}
		// A page that showed the numbers only at the end would jump from
		// 0 to 40, one that showed them in a few chunks would show one
		// count between. Two different counts seen while streaming prove
		// the numbers are shown as they arrive; sampling takes a round
		// trip to the browser, and on a machine starved of CPU it may miss
		// most of the 40, but not all but one of them over 4 s.
		if len(partial) < 2 {
			t.Errorf("saw %d distinct counts while streaming, want at least 2 (numbers not shown as they arrive); samples %v", len(partial), samples)
		}
		if last := samples[len(samples)-1]; last != count {
			t.Errorf("final count %d, want %d", last, count)
		}
		if got := evaluate[string](t, ctx, `document.getElementById("numbers-latest").textContent`); got != fmt.Sprint(count) {
			t.Errorf("latest number shown = %q, want %d", got, count)
		}
		chips := evaluate[[]string](t, ctx, `[...document.querySelectorAll("#numbers-output .chip")].map(e => e.textContent)`)
		if want := strings.Fields(numberLines(1, count)); !slices.Equal(chips, want) {
			t.Errorf("numbers shown = %v, want %v", chips, want)
		}
	})

	t.Run("stop ends the streams on the server", func(t *testing.T) {
		do(t, ctx, "following the log", chromedp.SetValue(chromedp.ID("logs-lines"), "5"), chromedp.Click(chromedp.ID("logs-start")))
		waitInPage(t, ctx, "log lines arrive live",
			`document.querySelectorAll("#logs-output .line").length >= 5 + 3`)
		do(t, ctx, "starting a long stream",
			chromedp.SetValue(chromedp.ID("numbers-count"), "36000"),
			chromedp.SetValue(chromedp.ID("numbers-interval"), "50"),
			chromedp.Click(chromedp.ID("numbers-start")),
		)
		waitInPage(t, ctx, "numbers arrive", `document.getElementById("numbers-progress").value >= 30`)
		if path := os.Getenv("DEMO_SCREENSHOT"); path != "" {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot saved to %s", path)
		}
		const gone = `ginstream_streams_total{outcome="client_gone",route="/stream/numbers"}`
		waitForMetric(t, d, gone, 0)
		waitForMetric(t, d, `ginstream_active_streams{route="/stream/numbers"}`, 1)

		do(t, ctx, "stopping the numbers", chromedp.Click(chromedp.ID("numbers-stop")))
		waitInPage(t, ctx, "the page says stopped", `document.getElementById("numbers-status").dataset.state === "stopped"`)
		waitForMetric(t, d, gone, 1)
		waitForMetric(t, d, `ginstream_active_streams{route="/stream/numbers"}`, 0)

		// The lines shown are lines of the log, in order.
		lines := evaluate[[]string](t, ctx, `[...document.querySelectorAll("#logs-output .line")].map(e => e.textContent)`)
		file := readLines(t, filepath.Join(d.dataDir, logFile))
		start := slices.Index(file, lines[0])
		if start < 0 || start+len(lines) > len(file) || !slices.Equal(file[start:start+len(lines)], lines) {
			t.Errorf("the page shows lines that are not consecutive lines of the log:\n%s", strings.Join(lines, "\n"))
		}
		do(t, ctx, "stopping the log", chromedp.Click(chromedp.ID("logs-stop")))
		waitInPage(t, ctx, "the page says stopped", `document.getElementById("logs-status").dataset.state === "stopped"`)
		waitForMetric(t, d, `ginstream_streams_total{outcome="client_gone",route="/stream/logs"}`, 1)
	})

	t.Run("downloads arrive", func(t *testing.T) {
		for _, dl := range []struct{ id, file, path string }{
			{"download-export", "users.csv", "/export/users.csv"},
			{"download-report", reportName, "/reports/" + reportName},
		} {
			_, want := d.get(t, dl.path)
			do(t, ctx, "clicking "+dl.id, chromedp.Click(chromedp.ID(dl.id)))
			var got []byte
			waitUntil(t, dl.file+" is downloaded whole", func() bool {
				var err error
				got, err = os.ReadFile(filepath.Join(downloads, dl.file))
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
				return bytes.Equal(got, want)
			})
		}
		if entries, err := os.ReadDir(downloads); err != nil || len(entries) != 2 {
			t.Errorf("download directory holds %v (%v), want the two files", entries, err)
		}
	})
}
