package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// cpuSample is the CPU time used so far by the demo, by this process (the
// clients) and by the whole machine.
type cpuSample struct {
	demo, clients, machine time.Duration
}

// takeCPU samples the CPU time of the demo (process pid), of this process
// and of the machine, from /proc.
func takeCPU(pid int) (s cpuSample, err error) {
	if s.demo, err = processCPU(pid); err != nil {
		return s, err
	}
	if s.clients, err = processCPU(os.Getpid()); err != nil {
		return s, err
	}
	s.machine, err = machineCPU()
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

// userHZ is the unit of /proc's CPU times: 100 a second on every
// architecture Go supports.
const userHZ = time.Second / 100

// processCPU returns the CPU time, user and system, that process pid has
// used, from /proc/<pid>/stat.
func processCPU(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	fields := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(fields) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * userHZ, nil
}

// machineCPU returns the CPU time the machine has spent busy (neither
// idle nor waiting for I/O), from /proc/stat.
func machineCPU() (time.Duration, error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	fields := strings.Fields(string(line))
	// cpu user nice system idle iowait irq softirq steal …
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, errors.New("malformed /proc/stat")
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7} {
		n, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0, err
		}
		busy += n
	}
	return time.Duration(busy) * userHZ, nil
}
