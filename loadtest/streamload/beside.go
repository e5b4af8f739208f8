package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ginstream/ginstream/loadtest/sidebyside/reference"
)

// referenceActive is the reference server's gauge of active streams.
const referenceActive = "reference_active_streams"

// runStreamsBeside runs the streams scenario with -reference: against the
// reference server first, then against the demo, each started fresh, with
// the same clients, on the same database and with the same stall timeout,
// and compares them (see compareStreams). The demo seeds the database
// first, in a data directory of the run's own, and its export, downloaded
// then, is the one both servers' exports must be identical to. The
// reference server is checked as the clients judge it (checkClients); the
// checks that read the demo's log and counters are the demo's alone.
func runStreamsBeside(ctx context.Context, cfg config, bin, tmp string, stderr io.Writer) (*result, error) {
	res := &result{title: streamsTitle(cfg)}
	refBin, err := reference.Build(ctx, tmp)
	if err != nil {
		return nil, err
	}
	data, err := os.MkdirTemp(tmp, "data-")
	if err != nil {
		return nil, err
	}
	export, err := seedStreams(ctx, cfg, bin, data, stderr)
	if err != nil {
		return nil, err
	}
	res.prefix = "reference: "
	ref, err := loadReference(ctx, cfg, refBin, data, &export, stderr, res)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	res.prefix = "demo: "
	d, err := startDemoIn(ctx, bin, data, stderr, streamsDemoFlags(cfg)...)
	if err != nil {
		return nil, err
	}
	defer d.stop()
	demo, err := loadStreams(ctx, cfg, d, &export, res)
	if err != nil {
		return nil, err
	}
	checkDemoStreams(res, demo)
	res.prefix = ""
	res.tables = append(res.tables, compareStreams(ref, demo))
	return res, nil
}

// seedStreams starts the demo with the streams scenario's flags in the
// data directory data, where it creates and seeds its SQLite database,
// downloads the export alone and stops the demo. It returns the export's
// SHA-256.
func seedStreams(ctx context.Context, cfg config, bin, data string, stderr io.Writer) ([sha256.Size]byte, error) {
	d, err := startDemoIn(ctx, bin, data, stderr, streamsDemoFlags(cfg)...)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	body, err := downloadExport(ctx, d.addr, cfg.users)
	if serr := d.stop(); err == nil && serr != nil {
		err = fmt.Errorf("demo seeding the database: %w", serr)
	}
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return sha256.Sum256(body), nil
}

// startReference starts the reference server (bin) on 127.0.0.1 at a port
// the system picks, serving the demo's SQLite database in data read-only,
// following a log of its own there that grows by a line every logInterval,
// with the stall timeout of the demo.
func startReference(ctx context.Context, cfg config, bin, data string, stderr io.Writer) (*serverProcess, error) {
	logFile := filepath.Join(data, "reference.log")
	args := []string{
		"-addr", "127.0.0.1:0",
		"-sqlite", filepath.Join(data, "demo.db"),
		"-log", logFile,
		"-log-interval", logInterval.String(),
		"-stall-timeout", cfg.stallTimeout.String(),
	}
	return startServer(ctx, "reference", bin, args, reference.Ready, logFile, referenceActive, stderr)
}

// loadReference starts the reference server, runs the streams scenario's
// clients against it (see loadStreams) and stops it, which must end it
// with status 0.
func loadReference(ctx context.Context, cfg config, bin, data string, wantExport *[sha256.Size]byte, stderr io.Writer, res *result) (*streamsLoad, error) {
	srv, err := startReference(ctx, cfg, bin, data, stderr)
	if err != nil {
		return nil, err
	}
	l, err := loadStreams(ctx, cfg, srv, wantExport, res)
	if serr := srv.stop(); err == nil && serr != nil {
		err = serr
	}
	return l, err
}
