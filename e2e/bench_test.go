package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// BenchmarkPostbackToDelivered sends b.N distinct ftd postbacks through the real HTTP API, 20 at a time, and
// waits until the tracker has received every outbound postback. It reports throughput, the latency from the
// last postback sent to the last delivery, and CPU per event of this process (API, worker, load client and
// tracker together) and of the Temporal dev server.
func BenchmarkPostbackToDelivered(b *testing.B) {
	for _, driver := range stores() {
		b.Run(driver, func(b *testing.B) {
			// The load is the point here: lift the per-key rate limit.
			e := startApp(b, driver, retrypolicy.DefaultPolicy(), func(c *config.Config) {
				c.Security.RateLimitRPS, c.Security.RateLimitBurst = 1e6, 1e6
			})
			tracker := newSink(b, always(http.StatusOK))
			key, _, affiliateID := e.setup(tracker.srv.URL)
			temporalPID := devServerPID()

			selfBefore, tempBefore := cpuSelf(), cpuOf(temporalPID)
			b.ResetTimer()
			start := time.Now()
			concurrently(b.N, func(i int) {
				r := e.postback(key, ftd(fmt.Sprintf("bench-%d-%d", b.N, i), affiliateID))
				if r.Status != http.StatusOK || r.Body["status"] != "accepted" {
					b.Errorf("postback %d: %d %s", i, r.Status, r.Raw)
				}
			})
			acked := time.Now()
			for len(tracker.received()) < b.N {
				if time.Since(acked) > 2*time.Minute {
					b.Fatalf("only %d of %d delivered", len(tracker.received()), b.N)
				}
				time.Sleep(5 * time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			selfCPU, tempCPU := cpuSelf()-selfBefore, cpuOf(temporalPID)-tempBefore
			n := float64(b.N)
			b.ReportMetric(n/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(time.Since(acked).Milliseconds()), "ms-drain")
			b.ReportMetric(float64(selfCPU.Microseconds())/1000/n, "ms-cpu-affrelay/event")
			b.ReportMetric(float64(tempCPU.Microseconds())/1000/n, "ms-cpu-temporal/event")
		})
	}
}

// concurrently calls f(0..n-1) from 20 goroutines, like 20 senders at once.
func concurrently(n int, f func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for i := range jobs {
				f(i)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// cpuSelf is the user+system CPU time this process has used.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOf reads a process's user+system CPU time from /proc (0 if unknown).
func cpuOf(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// devServerPID finds the Temporal dev server this test binary started, by its frontend port.
func devServerPID() int {
	_, port, _ := strings.Cut(temporalAddr, ":")
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		cmd, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		args := strings.Split(string(cmd), "\x00")
		for i, a := range args {
			if a == "--port" && i+1 < len(args) && args[i+1] == port && strings.Contains(string(cmd), "start-dev") {
				pid, _ := strconv.Atoi(strings.Split(d, "/")[2])
				return pid
			}
		}
	}
	return 0
}

// BenchmarkBareWorkflowBaseline starts and completes b.N empty workflows, 20 at a time, on the same dev server:
// the floor that any Temporal-based design pays per workflow here, to read BenchmarkPostbackToDelivered against.
func BenchmarkBareWorkflowBaseline(b *testing.B) {
	c, err := client.Dial(client.Options{HostPort: temporalAddr, Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	queue := "bench-" + store.NewID("tq")
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(workflow.Context) error { return nil }, workflow.RegisterOptions{Name: "Noop"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	temporalPID := devServerPID()
	selfBefore, tempBefore := cpuSelf(), cpuOf(temporalPID)
	b.ResetTimer()
	start := time.Now()
	concurrently(b.N, func(i int) {
		run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: fmt.Sprintf("%s-%d", queue, i), TaskQueue: queue, EnableEagerStart: true,
		}, "Noop")
		if err == nil {
			err = run.Get(context.Background(), nil)
		}
		if err != nil {
			b.Error(err)
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(n/elapsed.Seconds(), "workflows/s")
	b.ReportMetric(float64((cpuSelf()-selfBefore).Microseconds())/1000/n, "ms-cpu-client+worker/wf")
	b.ReportMetric(float64((cpuOf(temporalPID)-tempBefore).Microseconds())/1000/n, "ms-cpu-temporal/wf")
}
