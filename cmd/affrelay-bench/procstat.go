package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cpuOf is a process's user+system CPU time, read from /proc (0 if unknown).
func cpuOf(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// cpuSelf is this process's user+system CPU time.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssOf is a process's resident set size in bytes (VmRSS; 0 if unknown).
func rssOf(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rssPeak samples a process's resident set every 50 ms until stop and keeps the largest.
type rssPeak struct {
	mu   sync.Mutex
	peak int64
	done chan struct{}
	wg   sync.WaitGroup
}

func watchRSS(pid int) *rssPeak {
	r := &rssPeak{done: make(chan struct{})}
	r.wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v := rssOf(pid); v > 0 {
				r.mu.Lock()
				r.peak = max(r.peak, v)
				r.mu.Unlock()
			}
			select {
			case <-r.done:
				return
			case <-t.C:
			}
		}
	})
	return r
}

// stop ends the sampling and returns the peak in MB.
func (r *rssPeak) stop() float64 {
	close(r.done)
	r.wg.Wait()
	return float64(r.peak) / (1 << 20)
}

// cpuMeter measures the CPU that the processes spend between start and stop.
type cpuMeter struct {
	pids   []int
	before []time.Duration
	self   time.Duration
}

func meterCPU(pids ...int) *cpuMeter {
	m := &cpuMeter{pids: pids, self: cpuSelf()}
	for _, p := range pids {
		m.before = append(m.before, cpuOf(p))
	}
	return m
}

// perEvent returns each process's CPU per event in ms, and this process's last.
func (m *cpuMeter) perEvent(n int) []float64 {
	out := make([]float64, 0, len(m.pids)+1)
	for i, p := range m.pids {
		out = append(out, ms(cpuOf(p)-m.before[i])/float64(max(n, 1)))
	}
	return append(out, ms(cpuSelf()-m.self)/float64(max(n, 1)))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// groupMeter measures the CPU that a changing set of processes spends between start and stop: PostgreSQL's
// backends serving Temporal's databases, listed again at stop. A backend that appeared meanwhile counts from
// zero; one that ended meanwhile is not counted (the server's pool keeps its connections).
type groupMeter struct {
	list   func() ([]int, error)
	before map[int]time.Duration
}

// meterGroup starts a groupMeter; with list nil it measures nothing.
func meterGroup(list func() ([]int, error)) *groupMeter {
	g := &groupMeter{list: list, before: map[int]time.Duration{}}
	if list != nil {
		pids, _ := list()
		for _, p := range pids {
			g.before[p] = cpuOf(p)
		}
	}
	return g
}

// perEvent is the group's CPU per event in ms (0 when it measures nothing or cannot list the processes).
func (g *groupMeter) perEvent(n int) float64 {
	if g.list == nil {
		return 0
	}
	pids, err := g.list()
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, p := range pids {
		total += cpuOf(p) - g.before[p]
	}
	return ms(total) / float64(max(n, 1))
}
