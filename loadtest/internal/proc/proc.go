// Package proc reads what the load programs (loadtest/sseload, loadtest/streamload)
// report of the processes they measure: resident memory and CPU time from
// Linux's /proc, and the limit on open files. Outside Linux the /proc
// readers fail.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc's CPU times: 100 a second on every
// architecture Go supports.
const userHZ = time.Second / 100

// RSS returns the resident set size of process pid, in bytes, from
// /proc/<pid>/status.
func RSS(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseRSS(status)
}

// parseRSS reads VmRSS from the text of /proc/<pid>/status.
func parseRSS(status []byte) (int64, error) {
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("proc: VmRSS: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("proc: no VmRSS in status")
}

// CPUTime returns the CPU time, user and system, that process pid has used,
// from /proc/<pid>/stat.
func CPUTime(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcessCPU(stat)
}

// parseProcessCPU reads utime and stime from the text of /proc/<pid>/stat.
func parseProcessCPU(stat []byte) (time.Duration, error) {
	// The fields after the command name, which is in parentheses and may
	// hold spaces and parentheses: utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc: malformed stat")
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 13 {
		return 0, errors.New("proc: malformed stat")
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc: stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * userHZ, nil
}

// MachineCPU returns the CPU time the whole machine has spent busy (neither
// idle nor waiting for I/O) and, of that, serving interrupts and softirqs
// (on loopback, much of that is the TCP traffic of a load run itself), from
// /proc/stat.
func MachineCPU() (busy, irq time.Duration, err error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseMachineCPU(stat)
}

// parseMachineCPU reads the first line of /proc/stat.
func parseMachineCPU(stat []byte) (busy, irq time.Duration, err error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	fields := strings.Fields(string(line))
	// cpu user nice system idle iowait irq softirq steal …
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, 0, errors.New("proc: malformed /proc/stat")
	}
	var ticks [8]int64
	for i := 1; i < 8; i++ {
		if ticks[i], err = strconv.ParseInt(fields[i], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("proc: /proc/stat: %w", err)
		}
	}
	busy = time.Duration(ticks[1]+ticks[2]+ticks[3]+ticks[6]+ticks[7]) * userHZ
	irq = time.Duration(ticks[6]+ticks[7]) * userHZ
	return busy, irq, nil
}
