// Package cli is what the load programs' main functions share: a context
// that ends at SIGINT or SIGTERM, and the exit status a run's error calls
// for.
//
//	func main() {
//		cli.Main("runload", func(ctx context.Context) error {
//			return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
//		})
//	}
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// ErrUsage reports command-line arguments that a program rejected after
// printing why and its usage; Exit ends the process with status 2 for it.
var ErrUsage = errors.New("invalid arguments")

// Main runs run with a context that ends at SIGINT or SIGTERM, then ends
// the process as Exit does, naming the program name in an error.
func Main(name string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	Exit(name, err)
}

// Exit ends the process with the status err calls for: 0 for nil or
// flag.ErrHelp (the usage has been printed), 2 for ErrUsage (so have the
// usage and what was wrong), otherwise 1 after printing "name: err" to
// standard error.
func Exit(name string, err error) {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, ErrUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
