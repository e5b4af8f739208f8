package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// cpuSample is the CPU time used so far by the server (the demo or the
// reference), by this process (the clients) and by the whole machine.
type cpuSample struct {
	server, clients, machine time.Duration
}

// takeCPU samples the CPU time of the server (process pid), of this
// process and of the machine, from /proc.
func takeCPU(pid int) (s cpuSample, err error) {
	if s.server, err = proc.CPUTime(pid); err != nil {
		return s, err
	}
	if s.clients, err = proc.CPUTime(os.Getpid()); err != nil {
		return s, err
	}
	s.machine, _, err = proc.MachineCPU()
	return s, err
}

// minus returns the CPU time used from t to s.
func (s cpuSample) minus(t cpuSample) cpuSample {
	return cpuSample{s.server - t.server, s.clients - t.clients, s.machine - t.machine}
}

// describe describes the CPU time used over d by the server, named name,
// and the others, against what the machine's cores offered.
func (s cpuSample) describe(name string, d time.Duration) string {
	return fmt.Sprintf("CPU over %.0f s: %s %.1f s, clients %.1f s, whole machine %.1f s of %.0f s (%d cores; other processes %.1f s)",
		d.Seconds(), name, s.server.Seconds(), s.clients.Seconds(), s.machine.Seconds(),
		d.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU(), s.others().Seconds())
}

// others returns the CPU time that other processes than the server and
// the clients used: the machine's less theirs.
func (s cpuSample) others() time.Duration { return max(s.machine-s.server-s.clients, 0) }
