package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// RefireJobWorkflowID is the workflow id of a bulk re-fire job.
func RefireJobWorkflowID(jobID string) string {
	return "refire-job:" + jobID
}

// RefireJobInput is a bulk re-fire: which deliveries, why, how fast per target, and where it stands.
type RefireJobInput struct {
	JobID  string
	Filter store.RefireFilter
	Reason string
	// RatePerSecond is how many deliveries of one target the job re-fires per second.
	RatePerSecond int
	Policy        retrypolicy.Policy
	// AfterID resumes after a continue-as-new: the last delivery id handled.
	AfterID string
}

// RefireJobResult counts what this run of the job did (the job's totals are stored with it).
type RefireJobResult struct {
	Refired, Passed int64
}

// Pages of a bulk re-fire: how many deliveries one read takes, and how many reads one run makes before it
// continues as new, keeping each run's history small whatever the job's size.
const (
	refirePageSize    = 200
	refirePagesPerRun = 5
)

// RefireJobWorkflow re-fires every delivery a filter matched, page by page in id order, at most
// RatePerSecond per target each second, so re-firing thousands does not flood a receiver that is recovering.
// Each delivery is re-fired as by hand (RefireAction): a delivery in needs_review gets the redeliver signal, an
// ended one a new run of its DeliveryWorkflow. One whose state changed to pending meanwhile, or whose workflow
// still runs, is passed over. Progress is stored after every step (GET /v1/admin/deliveries/refire/{job_id}).
func RefireJobWorkflow(ctx workflow.Context, in RefireJobInput) (RefireJobResult, error) {
	var a *activities.Activities
	var res RefireJobResult
	for range refirePagesPerRun {
		var page []activities.RefireTarget
		if err := workflow.ExecuteLocalActivity(withDatabaseRead(ctx), a.RefirePage,
			activities.RefirePageInput{Filter: in.Filter, AfterID: in.AfterID, Limit: refirePageSize}).Get(ctx, &page); err != nil {
			return res, err
		}
		if len(page) == 0 {
			return res, workflow.ExecuteLocalActivity(withDatabaseWrite(ctx), a.FinishRefireJob, in.JobID, workflow.Now(ctx)).Get(ctx, nil)
		}
		for _, step := range refireSteps(page, in.RatePerSecond) {
			refired, passed := refireStep(ctx, in, step)
			res.Refired, res.Passed = res.Refired+int64(len(refired)), res.Passed+passed
			if err := workflow.ExecuteLocalActivity(withDatabaseWrite(ctx), a.RecordRefireProgress, activities.RefireProgressInput{
				JobID: in.JobID, Reason: in.Reason, Refired: refired, Passed: passed, At: workflow.Now(ctx),
			}).Get(ctx, nil); err != nil {
				return res, err
			}
			// A second between steps: no target gets more than RatePerSecond re-fires in any second.
			if err := workflow.Sleep(ctx, time.Second); err != nil {
				return res, err
			}
		}
		in.AfterID = page[len(page)-1].ID
	}
	return res, workflow.NewContinueAsNewError(ctx, RefireJobWorkflow, in)
}

// refireSteps splits a page into steps of at most rate deliveries per target, keeping the page's order.
func refireSteps(page []activities.RefireTarget, rate int) [][]activities.RefireTarget {
	rate = max(rate, 1)
	var steps [][]activities.RefireTarget
	seen := map[string]int{}
	for _, t := range page {
		i := seen[t.EndpointID] / rate
		seen[t.EndpointID]++
		for len(steps) <= i {
			steps = append(steps, nil)
		}
		steps[i] = append(steps[i], t)
	}
	return steps
}

// refireStep re-fires one step's deliveries at once and returns those it re-fired and how many it passed over.
func refireStep(ctx workflow.Context, in RefireJobInput, step []activities.RefireTarget) (refired []activities.RefireTarget, passed int64) {
	futures := make([]workflow.Future, len(step))
	for i, t := range step {
		switch action, _ := RefireAction(t.Status); action {
		case RefireBySignal:
			futures[i] = workflow.SignalExternalWorkflow(ctx, DeliveryWorkflowID(t.ID), "", RedeliverSignal, nil)
		case RefireByStart:
			cctx := withDeliveryChild(ctx, t.DeliveryRef, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, nil)
			futures[i] = workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflow, DeliveryInput{
				DeliveryID: t.ID, Policy: in.Policy, Refire: &Refire{Reason: in.Reason},
			}).GetChildWorkflowExecution()
		}
	}
	for i, f := range futures {
		// No future: the delivery is pending again. An error: its workflow is running (a start) or is not
		// (a signal). Either way it is being handled or has nothing to resume.
		if f == nil || f.Get(ctx, nil) != nil {
			passed++
			continue
		}
		refired = append(refired, step[i])
	}
	return refired, passed
}
