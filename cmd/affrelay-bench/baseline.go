package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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
	Kind          string  `json:"kind"`
	Count         int     `json:"count"`
	PerSecond     float64 `json:"per_second"`
	CPUTemporalMS float64 `json:"cpu_temporal_ms"`
	// CPUTemporalDBMS is PostgreSQL's, serving Temporal's databases (--temporal cluster only).
	CPUTemporalDBMS float64 `json:"cpu_temporal_postgres_ms,omitempty"`
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
func runBaseline(temporalAddr string, temporalPID int, temporalDB func() ([]int, error), kind string, c, n int, receiverURL string) (baselineResult, error) {
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

	// Start-only workflows have no worker: they are terminated once measured (below), and time out should that
	// fail. No other kind gets a timeout: it would leave a timer that fires a minute later, in the middle of a
	// later phase, and bill that phase's Temporal CPU for this one's workflows.
	var timeout time.Duration
	if kind == baselineStart {
		timeout = time.Minute
	}
	cpu, dbCPU := meterCPU(temporalPID), meterGroup(temporalDB)
	var failed atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for i := range jobs {
				run, err := cl.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
					ID: fmt.Sprintf("%s-%d", queue, i), TaskQueue: queue, EnableEagerStart: eager, WorkflowExecutionTimeout: timeout,
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
	per, db := cpu.perEvent(n), dbCPU.perEvent(n)
	if kind == baselineStart {
		terminate(cl, queue, c, n)
	}
	return baselineResult{
		Kind: kind, Count: n, PerSecond: float64(n) / elapsed.Seconds(), CPUTemporalMS: per[0], CPUTemporalDBMS: db,
		CPUClientMS: per[1], CPUPerWorkflow: per[0] + db + per[1], FailedWorkflows: int(failed.Load()),
	}, nil
}

// terminate ends the start-only baseline's n workflows from c goroutines, so that none of them times out later.
func terminate(cl client.Client, queue string, c, n int) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for i := range jobs {
				_ = cl.TerminateWorkflow(context.Background(), fmt.Sprintf("%s-%d", queue, i), "", "measured")
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// floorResult is the engine's own latency at one open-loop rate: bare workflows of the happy path's shape
// (a no-op and an HTTP GET to the receiver as local activities in one eagerly started task), started on
// schedule like affrelay's postbacks. Its start call is the floor of affrelay's ack (which waits for the same
// call), and its GET's arrival the floor of postback → receiver.
type floorResult struct {
	Rate     float64 `json:"rate"`
	Events   int     `json:"events"`
	Arrived  int     `json:"arrived"`
	StartP50 float64 `json:"start_p50_ms"`
	StartP99 float64 `json:"start_p99_ms"`
	E2EP50   float64 `json:"e2e_p50_ms"`
	E2EP95   float64 `json:"e2e_p95_ms"`
	E2EP99   float64 `json:"e2e_p99_ms"`
	Failed   int     `json:"failed"`
	Load     string  `json:"load"`
}

// runFloor starts n bare workflows at rate per second, open loop, and waits up to drain for their GETs.
func runFloor(temporalAddr string, rate float64, n int, recv *receiver, drain time.Duration) (floorResult, error) {
	res := floorResult{Rate: rate, Events: n}
	cl, err := stack.Dial(temporalAddr)
	if err != nil {
		return res, err
	}
	defer cl.Close()
	queue := fmt.Sprintf("floor-%g-%d", rate, time.Now().UnixNano())
	w := worker.New(cl, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(bareLocalHTTP, workflow.RegisterOptions{Name: "BareLocalHTTP"})
	w.RegisterActivity(&bareActivities{http: &http.Client{Timeout: 5 * time.Second}})
	if err := w.Start(); err != nil {
		return res, err
	}
	defer w.Stop()

	sentAt, starts, events := make([]time.Time, n), make([]time.Duration, n), make([]string, n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range n {
		time.Sleep(time.Until(begin.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		events[i] = fmt.Sprintf("%s-%d", queue, i)
		wg.Go(func() {
			sentAt[i] = time.Now()
			_, err := cl.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
				ID: events[i], TaskQueue: queue, EnableEagerStart: true,
			}, "BareLocalHTTP", recv.url+"/bare?tx="+url.QueryEscape(events[i]))
			starts[i] = time.Since(sentAt[i])
			if err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	res.Arrived = recv.await(events, drain)
	var e2e []time.Duration
	for i, e := range events {
		if at, ok := recv.arrival(e); ok {
			e2e = append(e2e, at.Sub(sentAt[i]))
		}
	}
	res.StartP50, res.StartP99 = percentile(starts, 50), percentile(starts, 99)
	res.E2EP50, res.E2EP95, res.E2EP99 = percentile(e2e, 50), percentile(e2e, 95), percentile(e2e, 99)
	res.Failed = int(failed.Load())
	res.Load = stack.LoadAverage()
	return res, nil
}
