package proc

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParsers(t *testing.T) {
	rss, err := parseRSS([]byte("Name:\tdemo\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t5\n"))
	if err != nil || rss != 1234<<10 {
		t.Errorf("parseRSS = %d, %v; want %d", rss, err, 1234<<10)
	}
	if _, err := parseRSS([]byte("Name:\tdemo\n")); err == nil {
		t.Error("parseRSS of a status without VmRSS succeeded")
	}
	// A command name with spaces and parentheses; utime 250, stime 50.
	stat := "42 (my (odd) cmd) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 0 0"
	cpu, err := parseProcessCPU([]byte(stat))
	if err != nil || cpu != 3*time.Second {
		t.Errorf("parseProcessCPU = %v, %v; want 3s", cpu, err)
	}
	if _, err := parseProcessCPU([]byte("42 no parenthesis")); err == nil {
		t.Error("parseProcessCPU of a malformed stat succeeded")
	}
	busy, irq, err := parseMachineCPU([]byte("cpu  100 5 50 9000 20 10 30 0 0 0\ncpu0 1 2 3\n"))
	if err != nil || busy != 1950*time.Millisecond || irq != 400*time.Millisecond {
		t.Errorf("parseMachineCPU = %v, %v, %v; want 1.95s, 400ms", busy, irq, err)
	}
	if _, _, err := parseMachineCPU([]byte("intr 1 2 3\n")); err == nil {
		t.Error("parseMachineCPU of a malformed /proc/stat succeeded")
	}
}

// TestSelf reads this process's figures where /proc exists.
func TestSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	if rss, err := RSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("RSS = %d, %v", rss, err)
	}
	if _, err := CPUTime(os.Getpid()); err != nil {
		t.Errorf("CPUTime: %v", err)
	}
	if busy, irq, err := MachineCPU(); err != nil || busy <= 0 || irq > busy {
		t.Errorf("MachineCPU = %v, %v, %v", busy, irq, err)
	}
	if n, err := RaiseFileLimit(); err != nil || n == 0 {
		t.Errorf("RaiseFileLimit = %d, %v", n, err)
	}
}
