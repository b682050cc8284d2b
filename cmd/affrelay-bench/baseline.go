package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/internal/stack"
)

// The bare-SDK workflows measured beside affrelay on the same dev server: what the engine allows here.
const (
	baselineStart        = "start"            // StartWorkflow alone (no worker polls the queue)
	baselineNoop         = "noop-eager"       // start + a workflow that completes at once, eager start
	baselineActivity     = "activity"         // start + one regular activity, not eager
	baselineActivityEagr = "activity-eager"   // start + one regular activity, eager start
	baselineLocalHTTP    = "local-http-eager" // start + a no-op and an HTTP GET local activity in the first task, eager
)

var baselineKinds = []string{baselineStart, baselineNoop, baselineActivity, baselineActivityEagr, baselineLocalHTTP}

// baselineResult is one bare-SDK measurement.
type baselineResult struct {
	Kind            string  `json:"kind"`
	Count           int     `json:"count"`
	PerSecond       float64 `json:"per_second"`
	CPUTemporalMS   float64 `json:"cpu_temporal_ms"`
	CPUClientMS     float64 `json:"cpu_client_worker_ms"`
	CPUPerWorkflow  float64 `json:"cpu_total_ms"`
	FailedWorkflows int     `json:"failed"`
}

type bareActivities struct{ http *http.Client }

func (*bareActivities) Noop(context.Context) error { return nil }

func (b *bareActivities) Get(ctx context.Context, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func bareNoop(workflow.Context) error { return nil }

func bareOneActivity(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, "Noop").Get(ctx, nil)
}

func bareLocalHTTP(ctx workflow.Context, target string) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 5 * time.Second})
	noop := workflow.ExecuteLocalActivity(ctx, "Noop")
	get := workflow.ExecuteLocalActivity(ctx, "Get", target)
	if err := noop.Get(ctx, nil); err != nil {
		return err
	}
	return get.Get(ctx, nil)
}

// runBaseline starts n workflows of one kind from c goroutines and waits for each to complete (except for the
// start-only kind), with a worker in this process on its own task queue.
func runBaseline(temporalAddr string, temporalPID int, kind string, c, n int, receiverURL string) (baselineResult, error) {
	cl, err := stack.Dial(temporalAddr)
	if err != nil {
		return baselineResult{}, err
	}
	defer cl.Close()
	queue := fmt.Sprintf("bare-%s-%d", kind, time.Now().UnixNano())
	if kind != baselineStart {
		w := worker.New(cl, queue, worker.Options{})
		w.RegisterWorkflowWithOptions(bareNoop, workflow.RegisterOptions{Name: "BareNoop"})
		w.RegisterWorkflowWithOptions(bareOneActivity, workflow.RegisterOptions{Name: "BareOneActivity"})
		w.RegisterWorkflowWithOptions(bareLocalHTTP, workflow.RegisterOptions{Name: "BareLocalHTTP"})
		w.RegisterActivity(&bareActivities{http: &http.Client{Timeout: 5 * time.Second}})
		if err := w.Start(); err != nil {
			return baselineResult{}, err
		}
		defer w.Stop()
	}
	name, eager, args := "BareNoop", kind != baselineActivity, []any(nil)
	switch kind {
	case baselineActivity, baselineActivityEagr:
		name = "BareOneActivity"
	case baselineLocalHTTP:
		name, args = "BareLocalHTTP", []any{receiverURL + "/bare"}
	}

	cpu := meterCPU(temporalPID)
	var failed atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for i := range jobs {
				run, err := cl.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
					ID: fmt.Sprintf("%s-%d", queue, i), TaskQueue: queue, EnableEagerStart: eager,
					// Start-only workflows have no worker: let them time out instead of lingering.
					WorkflowExecutionTimeout: time.Minute,
				}, name, args...)
				if err == nil && kind != baselineStart {
					err = run.Get(context.Background(), nil)
				}
				if err != nil {
					failed.Add(1)
				}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	per := cpu.perEvent(n)
	return baselineResult{
		Kind: kind, Count: n, PerSecond: float64(n) / elapsed.Seconds(),
		CPUTemporalMS: per[0], CPUClientMS: per[1], CPUPerWorkflow: per[0] + per[1], FailedWorkflows: int(failed.Load()),
	}, nil
}
