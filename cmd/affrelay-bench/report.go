package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/affrelay/affrelay/internal/stack"
	"github.com/affrelay/affrelay/workflows"
)

type report struct {
	Started     time.Time        `json:"started"`
	Database    string           `json:"database"`
	Temporal    string           `json:"temporal"`
	Concurrency int              `json:"concurrency"`
	LoadBefore  string           `json:"load_before"`
	LoadAfter   string           `json:"load_after"`
	Baselines   []baselineResult `json:"baselines"`
	Floors      []floorResult    `json:"floors"`
	Variants    []variantResult  `json:"variants"`
}

type variantResult struct {
	Label   string        `json:"label"`
	Env     []string      `json:"env,omitempty"`
	Error   string        `json:"error,omitempty"`
	Phases  []phaseResult `json:"phases"`
	History *historyCheck `json:"history,omitempty"`
	Dead    *deadResult   `json:"dead,omitempty"`
	// NoopBeside is a bare no-op (eager) measured right after this variant's closed loop: on a shared machine
	// the CPU a workflow costs drifts by a fifth within minutes, so the ratio to it is the one to trust.
	NoopBeside *baselineResult `json:"noop_beside,omitempty"`
	// Ratios to the bare baselines of the same run.
	ClosedToActivityEager float64 `json:"closed_throughput_to_activity_eager"`
	CPUToNoop             float64 `json:"cpu_per_event_to_noop_eager"`
	CPUToNoopBeside       float64 `json:"cpu_per_event_to_noop_beside,omitempty"`
}

type phaseResult struct {
	Name            string  `json:"name"`
	Events          int     `json:"events"`
	Accepted        int     `json:"accepted"`
	Delivered       int     `json:"delivered"`
	Duplicates      int     `json:"duplicates_received"`
	AckP50          float64 `json:"ack_p50_ms"`
	AckP99          float64 `json:"ack_p99_ms"`
	E2EP50          float64 `json:"e2e_p50_ms"`
	E2EP95          float64 `json:"e2e_p95_ms"`
	E2EP99          float64 `json:"e2e_p99_ms"`
	DeliveredPerSec float64 `json:"delivered_per_s"`
	CPUAffrelayMS   float64 `json:"cpu_affrelay_ms_per_event"`
	CPUTemporalMS   float64 `json:"cpu_temporal_ms_per_event"`
	// CPUTemporalDBMS is PostgreSQL's, serving Temporal's databases (--temporal cluster only).
	CPUTemporalDBMS float64 `json:"cpu_temporal_postgres_ms_per_event,omitempty"`
	CPUPerEventMS   float64 `json:"cpu_ms_per_event"`
	PeakRSSMB       float64 `json:"peak_rss_mb"`
	Load            string  `json:"load"`
	FirstError      string  `json:"first_error,omitempty"`
	// EagerStarts of EagerChecked sampled conversions had their first workflow task in the start call.
	EagerChecked int `json:"eager_checked"`
	EagerStarts  int `json:"eager_starts"`
	// AckPhases is where the acks' time went, from affrelay's own histogram (authenticate, submit, audit).
	AckPhases map[string]phaseTiming `json:"ack_phases,omitempty"`
}

// historyCheck describes one conversion's history: how many workflow tasks it took, and whether its first
// task was started eagerly (in the start call itself, with no time between start and task start).
type historyCheck struct {
	WorkflowID         string  `json:"workflow_id"`
	Events             int     `json:"events"`
	WorkflowTasks      int     `json:"workflow_tasks"`
	Activities         int     `json:"activities"`
	Children           int     `json:"children"`
	Markers            int     `json:"markers"`
	SearchAttrUpserts  int     `json:"search_attribute_upserts"`
	FirstTaskStartedMS float64 `json:"first_task_started_after_ms"`
	Eager              bool    `json:"eager"`
}

type deadResult struct {
	Events    int     `json:"events"`
	Waiting   int64   `json:"waiting"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	Seconds   float64 `json:"seconds"`
}

func (r *report) baseline(kind string) *baselineResult {
	for i := range r.Baselines {
		if r.Baselines[i].Kind == kind {
			return &r.Baselines[i]
		}
	}
	return nil
}

func (r *report) ratios() {
	act, noop := r.baseline(baselineActivityEagr), r.baseline(baselineNoop)
	for i := range r.Variants {
		v := &r.Variants[i]
		for _, ph := range v.Phases {
			if ph.Name[:6] != "closed" {
				continue
			}
			if act != nil && act.PerSecond > 0 {
				v.ClosedToActivityEager = ph.DeliveredPerSec / act.PerSecond
			}
			if noop != nil && noop.CPUPerWorkflow > 0 {
				v.CPUToNoop = ph.CPUPerEventMS / noop.CPUPerWorkflow
			}
			if v.NoopBeside != nil && v.NoopBeside.CPUPerWorkflow > 0 {
				v.CPUToNoopBeside = ph.CPUPerEventMS / v.NoopBeside.CPUPerWorkflow
			}
		}
	}
}

func (r report) print(out io.Writer) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(out, "affrelay-bench  %s  temporal=%s  database=%s  concurrency=%d  load average %s → %s\n\n",
		r.Started.Format(time.RFC3339), r.Temporal, r.Database, r.Concurrency, r.LoadBefore, r.LoadAfter)
	fmt.Fprintln(w, "bare SDK\tworkflows\tper s\tCPU temporal ms\tCPU temporal PG ms\tCPU client+worker ms\tCPU total ms\tfailed\t")
	for _, b := range r.Baselines {
		fmt.Fprintf(w, "%s\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t\n", b.Kind, b.Count, b.PerSecond, b.CPUTemporalMS, b.CPUTemporalDBMS, b.CPUClientMS, b.CPUPerWorkflow, b.FailedWorkflows)
	}
	fmt.Fprintln(w, "\t\t\t\t\t\t\t\t")
	fmt.Fprintln(w, "engine floor, open loop\tworkflows\tarrived\tstart p50\tstart p99\te2e p50\te2e p95\te2e p99\tfailed\tload\t")
	for _, f := range r.Floors {
		fmt.Fprintf(w, "local-http-eager %g/s\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%s\t\n",
			f.Rate, f.Events, f.Arrived, f.StartP50, f.StartP99, f.E2EP50, f.E2EP95, f.E2EP99, f.Failed, f.Load)
	}
	fmt.Fprintln(w, "\t\t\t\t\t\t\t\t\t\t")
	fmt.Fprintln(w, "variant\tphase\tsent\tacked\tdelivered\tdup\tack p50\tack p99\te2e p50\te2e p95\te2e p99\tdelivered/s\tCPU affrelay ms\tCPU temporal ms\tCPU temporal PG ms\tpeak RSS MB\tload\t")
	for _, v := range r.Variants {
		for _, ph := range v.Phases {
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.2f\t%.2f\t%.2f\t%.0f\t%s\t\n",
				v.Label, ph.Name, ph.Events, ph.Accepted, ph.Delivered, ph.Duplicates, ph.AckP50, ph.AckP99,
				ph.E2EP50, ph.E2EP95, ph.E2EP99, ph.DeliveredPerSec, ph.CPUAffrelayMS, ph.CPUTemporalMS, ph.CPUTemporalDBMS, ph.PeakRSSMB, ph.Load)
		}
	}
	w.Flush()
	fmt.Fprintln(out)
	fmt.Fprintln(w, "ack phases, ms (at most)\tphase\tauthenticate p50\tp99\tsubmit p50\tp99\taudit p50\tp99\t")
	for _, v := range r.Variants {
		for _, ph := range v.Phases {
			fmt.Fprintf(w, "%s\t%s", v.Label, ph.Name)
			for _, name := range []string{"authenticate", "submit", "audit"} {
				t := ph.AckPhases[name]
				fmt.Fprintf(w, "\t%s\t%s", bucketMS(t.P50), bucketMS(t.P99))
			}
			fmt.Fprintln(w, "\t")
		}
	}
	w.Flush()
	fmt.Fprintln(out)
	for _, v := range r.Variants {
		if v.Error != "" {
			fmt.Fprintf(out, "%s: FAILED: %s\n", v.Label, v.Error)
		}
		fmt.Fprintf(out, "%s: closed-loop delivered/s ÷ bare start+activity (eager) = %.2f×; CPU per event ÷ bare no-op (eager) = %.2f×\n",
			v.Label, v.ClosedToActivityEager, v.CPUToNoop)
		if b := v.NoopBeside; b != nil {
			fmt.Fprintf(out, "  CPU per event ÷ a bare no-op (eager) measured right after the closed loop (%.2f ms: %.2f temporal + %.2f client+worker) = %.2f×\n",
				b.CPUPerWorkflow, b.CPUTemporalMS+b.CPUTemporalDBMS, b.CPUClientMS, v.CPUToNoopBeside)
		}
		for _, ph := range v.Phases {
			fmt.Fprintf(out, "  %s: eager start in %d of %d sampled conversions\n", ph.Name, ph.EagerStarts, ph.EagerChecked)
		}
		if h := v.History; h != nil {
			fmt.Fprintf(out, "  history of %s: %d events, %d workflow tasks, %d activities, %d children, %d markers, %d search-attribute upserts; first task started %.1f ms after start (eager: %t)\n",
				h.WorkflowID, h.Events, h.WorkflowTasks, h.Activities, h.Children, h.Markers, h.SearchAttrUpserts, h.FirstTaskStartedMS, h.Eager)
		}
		if d := v.Dead; d != nil {
			fmt.Fprintf(out, "  %d events to a dead receiver: %d deliveries waiting after %.0f s, peak RSS %.0f MB\n", d.Events, d.Waiting, d.Seconds, d.PeakRSSMB)
		}
	}
}

func (r report) writeJSON(out io.Writer, path string) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nBENCH_JSON %s\n", line)
	if path != "" {
		return os.WriteFile(path, append(line, '\n'), 0o644)
	}
	return nil
}

// inspectHistory reads one conversion's history from Temporal.
func inspectHistory(temporalAddr, integrationID, eventID string) (*historyCheck, error) {
	return inspectWorkflow(temporalAddr, workflows.ConversionWorkflowID(integrationID, eventID))
}

// inspectWorkflow reads one workflow's history from Temporal.
func inspectWorkflow(temporalAddr, workflowID string) (*historyCheck, error) {
	c, err := stack.Dial(temporalAddr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	h := &historyCheck{WorkflowID: workflowID}
	it := c.GetWorkflowHistory(context.Background(), h.WorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var started time.Time
	var startedTaskID int64
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events++
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			started, startedTaskID = ev.GetEventTime().AsTime(), ev.GetTaskId()
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if h.WorkflowTasks == 0 {
				h.FirstTaskStartedMS = ms(ev.GetEventTime().AsTime().Sub(started))
				// An eager first task is started in the start call's own transaction, which numbers its events'
				// task ids consecutively: started, task scheduled, task started. A polled one is started by a
				// later transaction. (Not the time between them: on a saturated machine an eager start can take
				// milliseconds between its events.)
				h.Eager = ev.GetEventId() == 3 && ev.GetTaskId() == startedTaskID+2
			}
			h.WorkflowTasks++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			h.Activities++
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			h.Children++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			h.Markers++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			h.SearchAttrUpserts++
		}
	}
	return h, nil
}

// bucketMS prints a histogram bucket's upper bound in ms (-1: beyond the last bucket).
func bucketMS(ms float64) string {
	if ms < 0 {
		return ">16384"
	}
	return strconv.FormatFloat(ms, 'f', -1, 64)
}
