package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/retrypolicy"
)

// startDeliveries starts one DeliveryWorkflow child per planned delivery and waits for the starts only; the
// deliveries outlive the caller. attrs are search attributes every child gets besides its state and affiliate.
func startDeliveries(ctx workflow.Context, refs []activities.DeliveryRef, policy retrypolicy.Policy, attrs ...temporal.SearchAttributeUpdate) ([]string, error) {
	inputs := make([]DeliveryInput, len(refs))
	for i, d := range refs {
		inputs[i] = DeliveryInput{DeliveryID: d.ID, Policy: policy}
	}
	return startDeliveryWorkflows(ctx, refs, inputs, attrs)
}

func startDeliveryWorkflows(ctx workflow.Context, refs []activities.DeliveryRef, inputs []DeliveryInput, attrs []temporal.SearchAttributeUpdate) ([]string, error) {
	var starts []workflow.ChildWorkflowFuture
	var ids []string
	for i, d := range refs {
		cctx := withDeliveryChild(ctx, d, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, attrs)
		starts = append(starts, workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflow, inputs[i]))
		ids = append(ids, d.ID)
	}
	for _, f := range starts {
		// A delivery started by an earlier run (reset, replay) counts as started.
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return ids, err
		}
	}
	return ids, nil
}

// withDeliveryChild starts delivery d's DeliveryWorkflow as a child that outlives its parent (retries can take
// a day, and reviews longer), with its state, affiliate and attrs as search attributes.
func withDeliveryChild(ctx workflow.Context, d activities.DeliveryRef, reuse enumspb.WorkflowIdReusePolicy, attrs []temporal.SearchAttributeUpdate) workflow.Context {
	return workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            DeliveryWorkflowID(d.ID),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: reuse,
		TypedSearchAttributes: temporal.NewSearchAttributes(append([]temporal.SearchAttributeUpdate{
			DeliveryStateKey.ValueSet(DeliveryStatePending),
			AffiliateIDKey.ValueSet(d.AffiliateID),
		}, attrs...)...),
	})
}

// attemptStoreTime is what an attempt may take beyond its request's timeout, to load the delivery and store
// the attempt.
const attemptStoreTime = 10 * time.Second

// deliverInline makes the first attempt of every delivery at once, in parallel, as local activities of the
// current workflow task, each request bounded by timeout; a delivery that is not delivered continues in a
// DeliveryWorkflow from attempt 2 (or in review, after a permanent failure). It returns every delivery's id
// and those delivered inline.
func deliverInline(ctx workflow.Context, refs []activities.DeliveryRef, policy retrypolicy.Policy, timeout time.Duration, attrs ...temporal.SearchAttributeUpdate) (ids, delivered []string, err error) {
	var a *activities.Activities
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: timeout + attemptStoreTime,
		// One try: a failure is retried on the schedule by the DeliveryWorkflow, durably.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	attempts := make([]workflow.Future, len(refs))
	for i, d := range refs {
		attempts[i] = workflow.ExecuteLocalActivity(lctx, a.FirstAttempt, activities.FirstAttemptInput{DeliveryID: d.ID, Policy: policy, Timeout: timeout})
		ids = append(ids, d.ID)
	}
	var rest []activities.DeliveryRef
	var inputs []DeliveryInput
	for i, f := range attempts {
		in := DeliveryInput{DeliveryID: refs[i].ID, Policy: policy}
		var res activities.FirstAttemptResult
		if err := f.Get(ctx, &res); err != nil {
			// The attempt could not be made or stored (database, worker): the DeliveryWorkflow makes it.
			workflow.GetLogger(ctx).Warn("inline first attempt failed; a DeliveryWorkflow takes over", "delivery_id", refs[i].ID, "error", err)
		} else if res.Delivered {
			delivered = append(delivered, refs[i].ID)
			continue
		} else if res.Attempted || res.ErrorType != "" {
			in.FirstAttempt = &res
		}
		rest = append(rest, refs[i])
		inputs = append(inputs, in)
	}
	if len(rest) > 0 {
		_, err = startDeliveryWorkflows(ctx, rest, inputs, attrs)
	}
	return ids, delivered, err
}

// withDatabaseWrite runs a local activity that writes to the database in one transaction. Its retries are
// bounded (about two minutes) so that a failure surfaces instead of retrying forever out of sight; the caller
// decides what then (recordConversion shows the state and tries again later).
func withDatabaseWrite(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &databaseWriteRetry,
	})
}

// databaseWriteRetry is the bounded retry of local activities that write the database: 1s, 2s, 4s … 30s.
var databaseWriteRetry = temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 8}

// withDatabaseRead runs a local activity that only reads the database: it keeps trying, as the database may
// be down for a while and what the workflow was started with is safe in history.
func withDatabaseRead(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 0},
	})
}
