package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/ginstream/ginstream/loadtest/internal/proc"
)

// cpuSample is the CPU time used so far by the demo, by this process (the
// clients) and by the whole machine.
type cpuSample struct {
	demo, clients, machine time.Duration
}

// takeCPU samples the CPU time of the demo (process pid), of this process
// and of the machine, from /proc.
func takeCPU(pid int) (s cpuSample, err error) {
	if s.demo, err = proc.CPUTime(pid); err != nil {
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
	return cpuSample{s.demo - t.demo, s.clients - t.clients, s.machine - t.machine}
}

// String describes the CPU time used over d, against what the machine's
// cores offered.
func (s cpuSample) String(d time.Duration) string {
	return fmt.Sprintf("CPU over %.0f s: demo %.1f s, clients %.1f s, whole machine %.1f s of %.0f s (%d cores; other processes %.1f s)",
		d.Seconds(), s.demo.Seconds(), s.clients.Seconds(), s.machine.Seconds(),
		d.Seconds()*float64(runtime.NumCPU()), runtime.NumCPU(), max(s.machine-s.demo-s.clients, 0).Seconds())
}
