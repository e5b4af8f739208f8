package child

import "regexp"

// DemoReady matches the line in which the demo (cmd/demo) says where it
// listens: "ginstream demo: open http://…/ in a browser".
var DemoReady = regexp.MustCompile(`^ginstream demo: open (http://\S+)/ in a browser$`)

// DemoArgs returns the demo's flags for a load run: on loopback at a port
// the system picks, with the data directory given, no limit on streams,
// their clients or their duration, its background log line and event ticks
// an hour apart (so that its own work does not count), then extra, whose
// flags override these.
func DemoArgs(data string, extra ...string) []string {
	args := []string{
		"-addr", "127.0.0.1:0", "-data", data,
		"-max-streams", "0", "-max-streams-per-client", "0", "-max-stream-duration", "0",
		"-log-interval", "1h", "-event-interval", "1h",
	}
	return append(args, extra...)
}
