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
	var starts []workflow.ChildWorkflowFuture
	var ids []string
	for _, d := range refs {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: DeliveryWorkflowID(d.ID),
			// The delivery outlives this workflow: retries can take a day, and replays longer.
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(append([]temporal.SearchAttributeUpdate{
				DeliveryStateKey.ValueSet(DeliveryStatePending),
				AffiliateIDKey.ValueSet(d.AffiliateID),
			}, attrs...)...),
		})
		starts = append(starts, workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflow, DeliveryInput{DeliveryID: d.ID, Policy: policy}))
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

// withDatabaseWrite runs a local activity that writes to the database in one transaction. The database may be
// down for a while; what the workflow was started with is safe in history, so it keeps trying.
func withDatabaseWrite(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 0},
	})
}
