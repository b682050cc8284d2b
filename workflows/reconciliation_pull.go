package workflows

import (
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
)

// ReconciliationPullScheduleID is the id of an integration's Temporal Schedule of daily pulls; the Schedule's
// runs get ids that begin with it.
func ReconciliationPullScheduleID(integrationID string) string {
	return "reconciliation-pull:" + integrationID
}

// ReconciliationPullWorkflowID is the workflow id of a backfill's pull of one day: one per integration and day.
func ReconciliationPullWorkflowID(integrationID, day string) string {
	return ReconciliationPullScheduleID(integrationID) + ":" + day
}

// ReconciliationPullInput names the integration and the day; an empty Day is the UTC day before the run.
// Retry bounds the fetch (reconciliation.pull_attempts and pull_backoff); nil, as in Schedules made before
// it existed, is 6 attempts from 5 s.
type ReconciliationPullInput struct {
	IntegrationID string
	Day           string
	Retry         *PullRetry
}

// PullRetry is how a pull retries its fetch: Attempts in all, waiting FirstRetry after the first failure and
// twice as long after each next one, at most 5 minutes.
type PullRetry struct {
	Attempts   int
	FirstRetry time.Duration
}

func (r *PullRetry) policy() *temporal.RetryPolicy {
	if r == nil {
		return reconciliationFetchRetry
	}
	return &temporal.RetryPolicy{InitialInterval: r.FirstRetry, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: int32(r.Attempts)}
}

// ReconciliationPullResult is the day's batch: the one fetched, the earlier one with the same content, or
// the failed batch that records a fetch that gave up.
type ReconciliationPullResult struct {
	Day        string
	BatchID    string
	WorkflowID string
	Duplicate  bool
	Failed     bool
}

// scheduledStartTimeKey is the search attribute Temporal sets on a Schedule's runs: the time it was due.
var scheduledStartTimeKey = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// fetchHeartbeatTimeout is how soon a worker that stopped heartbeating mid-fetch is given up on.
const fetchHeartbeatTimeout = 30 * time.Second

// reconciliationFetchRetry retries an operator endpoint that fails for about a quarter of an hour.
// (reconciliation.pull_attempts and pull_backoff default to it.)
var reconciliationFetchRetry = &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 6}

// pullFailedEventChange: a failed pull sends ops.reconciliation_pull_failed (before, only an ALERT line).
const pullFailedEventChange = "pull-failed-event"

// pullStartsUnfinishedDuplicateChange: a pull whose file is a duplicate of a batch still processing starts that
// batch's workflow (before, it returned, and a batch whose workflow never started stayed processing).
const pullStartsUnfinishedDuplicateChange = "pull-starts-unfinished-duplicate"

// fetchError is the fetch's last error without the activity wrapper's text.
func fetchError(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}

// fetchAttempts is how many attempts the fetch made: the failed attempt's own count, else (a timeout) all the
// policy allowed.
func fetchAttempts(err error, policy *temporal.RetryPolicy) int {
	var app *temporal.ApplicationError
	var f activities.FetchFailure
	if errors.As(err, &app) && app.HasDetails() && app.Details(&f) == nil && f.Attempt > 0 {
		return f.Attempt
	}
	return int(policy.MaximumAttempts)
}

// ReconciliationPullWorkflow fetches a day from the integration's operator endpoint into a staged batch and
// starts its ReconciliationWorkflow (the same as for an upload, under the content's hash). A fetch that gives
// up leaves a failed batch, an ALERT line and ops.reconciliation_pull_failed.
func ReconciliationPullWorkflow(ctx workflow.Context, in ReconciliationPullInput) (ReconciliationPullResult, error) {
	if in.Day == "" {
		// A Schedule's run (triggered, or backfilled from the Temporal UI) pulls the day before its scheduled time.
		at := workflow.Now(ctx)
		if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStartTimeKey); ok {
			at = t
		}
		in.Day = at.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	}
	res := ReconciliationPullResult{Day: in.Day}
	var a *activities.Reconciliation
	fctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// The fetch heartbeats while it streams the file into staging, so a killed worker is retried elsewhere
		// within the heartbeat timeout. (Replay checks an activity's type, not its timeouts: histories
		// scheduled without a heartbeat timeout replay unchanged.)
		StartToCloseTimeout: 15 * time.Minute, HeartbeatTimeout: fetchHeartbeatTimeout, RetryPolicy: in.Retry.policy(),
	})
	var fetched activities.FetchReconciliationDayResult
	err := workflow.ExecuteActivity(fctx, a.FetchReconciliationDay, activities.PullInput{IntegrationID: in.IntegrationID, Day: in.Day}).Get(ctx, &fetched)
	if err != nil {
		var failed activities.RecordPullFailureResult
		rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 0},
		})
		if rerr := workflow.ExecuteActivity(rctx, a.RecordPullFailure, activities.RecordPullFailureInput{
			IntegrationID: in.IntegrationID, Day: in.Day, Error: fetchError(err), Attempts: fetchAttempts(err, in.Retry.policy()),
		}).Get(ctx, &failed); rerr != nil {
			return res, rerr
		}
		res.BatchID, res.Failed = failed.BatchID, true
		if workflow.GetVersion(ctx, pullFailedEventChange, workflow.DefaultVersion, 1) == 1 {
			_, err := startDeliveries(ctx, failed.Deliveries, failed.Policy, IntegrationIDKey.ValueSet(in.IntegrationID))
			return res, err
		}
		return res, nil
	}
	res.BatchID, res.WorkflowID, res.Duplicate = fetched.BatchID, fetched.WorkflowID, fetched.Duplicate
	// A duplicate still processing may be one whose workflow never started (accepted by an upload or pull that
	// died before starting it): the child below starts it, or finds it started.
	if fetched.Duplicate && (!fetched.Processing || workflow.GetVersion(ctx, pullStartsUnfinishedDuplicateChange, workflow.DefaultVersion, 1) == workflow.DefaultVersion) {
		return res, nil
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            fetched.WorkflowID,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(IntegrationIDKey.ValueSet(in.IntegrationID), BatchIDKey.ValueSet(fetched.BatchID)),
	})
	child := workflow.ExecuteChildWorkflow(cctx, ReconciliationWorkflow, ReconciliationInput{BatchID: fetched.BatchID, IntegrationID: in.IntegrationID})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return res, err
	}
	return res, nil
}
