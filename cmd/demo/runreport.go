package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ginstream/ginstream/generator"
	"github.com/ginstream/ginstream/runs"
	"github.com/ginstream/ginstream/sink"
	"github.com/ginstream/ginstream/sse"
)

// partialDir is the directory of the reports directory where a report
// run writes its file until it is complete. /reports/:name serves only
// files at the top (a name has no slash), so a half-written file is never
// served.
const partialDir = ".partial"

// maxReportPause bounds the pause query parameter of a report run, in ms.
const maxReportPause = 1_000

// reportCSV encodes a report as /export/users.csv does: the same header
// and the same guard against spreadsheet formulas, so that the two files
// are the same bytes.
var reportCSV = sink.CSV{Header: []string{"id", "name", "email"}}

// reportRun is the kind report: every user (usersQuery) written as CSV to
// a new file of the reports directory, with progress events (done of the
// users counted first, one per percent), ending with a "result" event
// whose data is the file's link, /reports/NAME.csv. The file is written
// in partialDir and moved into place once complete; a run that fails or is
// cancelled removes it. Query parameter: pause (0 to 1,000 ms, default 0),
// a wait after each percent, so that a person can watch the bar fill.
func (a *app) reportRun(c *gin.Context) (generator.Func[sse.Event], error) {
	pause, err := queryInt(c, "pause", 0, 0, maxReportPause)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, yield func(sse.Event) error) error {
		return a.writeReport(ctx, time.Duration(pause)*time.Millisecond, yield)
	}, nil
}

// writeReport writes a report as reportRun says, yielding its events.
func (a *app) writeReport(ctx context.Context, pause time.Duration, yield func(sse.Event) error) (err error) {
	var total int64
	if err := a.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&total); err != nil {
		return fmt.Errorf("report: count users: %w", err)
	}
	if err := yield(runs.ProgressEvent(0, total)); err != nil {
		return err
	}
	a.removeOldReports(time.Now().Add(-a.runs.Retention))
	name := reportFileName(time.Now())
	partial := path.Join(partialDir, name)
	if err := a.reports.MkdirAll(partialDir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	f, err := a.reports.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	done := false // the file is in place and announced
	defer func() {
		if f != nil {
			f.Close()
		}
		if !done {
			_ = a.reports.Remove(partial)
			_ = a.reports.Remove(name)
		}
	}()

	rows, err := a.db.QueryContext(ctx, usersQuery)
	if err != nil {
		return fmt.Errorf("report: query: %w", err)
	}
	defer rows.Close()
	w := bufio.NewWriterSize(f, 64<<10)
	buf, err := reportCSV.AppendPreamble(nil)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	step := max(total/100, 1)
	var n int64
	var id int64
	record := make([]string, 3)
	for rows.Next() {
		if err := rows.Scan(&id, &record[1], &record[2]); err != nil {
			return fmt.Errorf("report: scan: %w", err)
		}
		record[0] = strconv.FormatInt(id, 10)
		if buf, err = reportCSV.Append(buf, record); err != nil {
			return fmt.Errorf("report: user %d: %w", id, err)
		}
		if len(buf) >= 32<<10 {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("report: write: %w", err)
			}
			buf = buf[:0]
		}
		if n++; n%step == 0 && n < total {
			if err := yield(runs.ProgressEvent(n, total)); err != nil {
				return err
			}
			if err := sleep(ctx, pause); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("report: query: %w", err)
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return fmt.Errorf("report: write: %w", err)
	}
	if err := a.reports.Rename(partial, name); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := yield(runs.ProgressEvent(n, max(total, n))); err != nil {
		return err
	}
	// A run cancelled now removes the file too: nobody was told where it is.
	if err := yield(sse.Event{Name: eventResult, Data: "/reports/" + url.PathEscape(name)}); err != nil {
		return err
	}
	done = true
	return nil
}

// removeOldReports removes the files of report runs finished before t:
// their runs, and the links they ended with, are gone once past the
// Manager's Retention. It runs as each report starts, so that the reports
// directory holds no more than the reports of one Retention, with no
// goroutine to sweep it. Other files of the directory are left alone.
func (a *app) removeOldReports(t time.Time) {
	dir, err := a.reports.Open(".")
	if err != nil {
		return
	}
	entries, err := dir.ReadDir(-1)
	dir.Close()
	if err != nil {
		return
	}
	for _, e := range entries {
		if !isReportFileName(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(t) {
			if err := a.reports.Remove(e.Name()); err != nil {
				a.logger.Warn("removing an old report", "name", e.Name(), "err", err)
			}
		}
	}
}

// isReportFileName reports whether name is one reportFileName makes.
func isReportFileName(name string) bool {
	var date, clock, suffix string
	if len(name) != len("users-20060102-150405-000000.csv") {
		return false
	}
	date, clock, suffix = name[6:14], name[15:21], name[22:28]
	return strings.HasPrefix(name, "users-") && strings.HasSuffix(name, ".csv") &&
		name[14] == '-' && name[21] == '-' && digits(date) && digits(clock) && strings.Trim(suffix, "0123456789abcdef") == ""
}

// digits reports whether s is only ASCII digits.
func digits(s string) bool { return strings.Trim(s, "0123456789") == "" }

// reportFileName returns the name of a report written at t: the time and a
// random suffix, so that two reports started in the same second do not
// collide.
func reportFileName(t time.Time) string {
	return fmt.Sprintf("users-%s-%06x.csv", t.UTC().Format("20060102-150405"), rand.Uint32()&0xffffff)
}
