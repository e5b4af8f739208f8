// Package child runs a server program as a child process of a load
// program (loadtest/sidebyside, loadtest/runload), so that the server's
// memory and CPU can be measured alone and its clients run in another
// process, as a user's would: Start starts it and waits for the line in
// which it says where it listens; Stop ends it.
//
//	srv, err := child.Start(ctx, "demo", bin, child.DemoArgs(dataDir), child.DemoReady, time.Minute)
//	if err != nil { … }
//	defer srv.Stop()
//	… "http://" + srv.Addr() …, proc.RSS(srv.PID()) …
//
// A child dies with the program on Linux (see Attr), so that a load run
// killed midway leaves no server behind. Its output is read by a goroutine
// of the Server's own, which keeps the last lines for errors; Stop joins
// it.
package child

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds on a server child's lifetime.
const (
	// StopTimeout is how long a server may take to exit after SIGTERM
	// before Stop kills it.
	StopTimeout = 30 * time.Second
	// tailLines is how many of a server's last output lines an error
	// quotes.
	tailLines = 20
)

// Server is a server running as a child process, owned by the measurement
// that started it: Start starts it, and Stop ends it and joins the
// goroutine that reads its output.
type Server struct {
	name string // "demo" or "reference", for errors
	cmd  *exec.Cmd
	addr string // host:port it listens on

	mu   sync.Mutex
	tail []string // its last lines of output

	done    chan struct{} // closed once the process has exited
	exitErr error         // why it exited; set before done is closed
}

// Start starts bin with args, its stdout and stderr read by a goroutine
// of its own, and waits (at most timeout) for the line matching ready,
// whose first group is its address: host:port, or a URL of it. name names
// the server in errors. The child's environment is this process's, less
// the variables the demo reads (DATABASE_URL, PORT, DATA_DIR): a load run
// sets everything by flags. If the server exits, does not announce itself
// in time or ctx ends first, Start stops it and returns an error quoting
// its last lines of output.
func Start(ctx context.Context, name, bin string, args []string, ready *regexp.Regexp, timeout time.Duration) (*Server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "PORT=", "DATA_DIR=")
	cmd.SysProcAttr = Attr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // both into the pipe
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{name: name, cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go s.read(out, ready, addr)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case a := <-addr:
		if u, err := url.Parse(a); err == nil && u.Host != "" {
			a = u.Host
		}
		s.addr = a
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("%s exited before serving: %v\n%s", name, s.exitErr, s.lastLines())
	case <-timer.C:
		err = fmt.Errorf("%s did not serve within %v\n%s", name, timeout, s.lastLines())
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = s.Stop()
	return nil, err
}

// read reads the server's output to its end, sending the address it
// announces on addr and keeping the last lines, then waits for the
// process and closes done.
func (s *Server) read(out io.Reader, ready *regexp.Regexp, addr chan<- string) {
	defer close(s.done)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	announced := false
	for sc.Scan() {
		line := sc.Text()
		if !announced {
			if m := ready.FindStringSubmatch(line); m != nil {
				announced = true
				addr <- m[1]
				continue
			}
		}
		s.mu.Lock()
		s.tail = append(s.tail, line)
		if len(s.tail) > tailLines {
			s.tail = s.tail[len(s.tail)-tailLines:]
		}
		s.mu.Unlock()
	}
	// A line too long to parse: keep the pipe drained so that the server
	// never blocks on its output.
	_, _ = io.Copy(io.Discard, out)
	s.exitErr = s.cmd.Wait()
}

// lastLines returns the server's last lines of output.
func (s *Server) lastLines() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

// Addr returns the address the server announced: host:port.
func (s *Server) Addr() string { return s.addr }

// PID returns the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop ends the server: SIGTERM, then SIGKILL if it has not exited within
// StopTimeout. It waits for the process and its output's reader, and
// returns an error if the server had exited before, failed or was killed.
// Call it once.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return fmt.Errorf("%s exited during the run: %v\n%s", s.name, s.exitErr, s.lastLines())
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(StopTimeout)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s: killed after not exiting within %v of SIGTERM", s.name, StopTimeout)
	}
	if s.exitErr != nil {
		return fmt.Errorf("%s: %w\n%s", s.name, s.exitErr, s.lastLines())
	}
	return nil
}
