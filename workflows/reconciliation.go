package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/reconciliation"
)

// ReconciliationWorkflowID is the business key of a batch: the same content for the same integration is the
// same workflow, so a second upload of it is recognised as a duplicate.
func ReconciliationWorkflowID(integrationID, contentSHA256 string) string {
	return activities.BatchWorkflowID(integrationID, contentSHA256)
}

// BatchIDKey finds a reconciliation workflow by its batch in the Temporal UI.
var BatchIDKey = temporal.NewSearchAttributeKeyKeyword("ReconciliationBatchID")

// reconciliationRowsPerActivity bounds one activity run, so the history records progress every so many rows
// while a 1,000,000-row batch still takes few events.
const reconciliationRowsPerActivity = 100_000

// ReconciliationInput names the staged batch; the rows stay in the database, never in the history.
type ReconciliationInput struct {
	BatchID       string
	IntegrationID string
}

// ReconciliationResult is the batch's report summary and the webhook deliveries started.
type ReconciliationResult struct {
	Summary    reconciliation.Summary
	Deliveries []string
}

// ReconciliationWorkflow flags the player-days the file lacks, compares and corrects the staged rows a
// chunk at a time through heartbeating activities, then stores the report and sends reconciliation.completed.
func ReconciliationWorkflow(ctx workflow.Context, in ReconciliationInput) (ReconciliationResult, error) {
	var a *activities.Reconciliation
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		// A killed worker is noticed within the heartbeat timeout; the retry resumes from the heartbeat.
		HeartbeatTimeout: 30 * time.Second,
		RetryPolicy:      &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 0},
	})
	batch := activities.ReconciliationBatchInput{BatchID: in.BatchID}
	if err := workflow.ExecuteActivity(actx, a.FlagMissingInFile, batch).Get(ctx, nil); err != nil {
		return ReconciliationResult{}, err
	}
	for {
		var step activities.ProcessReconciliationRowsResult
		err := workflow.ExecuteActivity(actx, a.ProcessReconciliationRows, activities.ProcessReconciliationRowsInput{
			BatchID: in.BatchID, MaxRows: reconciliationRowsPerActivity,
		}).Get(ctx, &step)
		if err != nil {
			return ReconciliationResult{}, err
		}
		if step.Done {
			break
		}
	}
	var fin activities.FinishReconciliationResult
	if err := workflow.ExecuteActivity(actx, a.FinishReconciliation, batch).Get(ctx, &fin); err != nil {
		return ReconciliationResult{}, err
	}
	res := ReconciliationResult{Summary: fin.Summary}
	var err error
	res.Deliveries, err = startDeliveries(ctx, fin.Deliveries, fin.Policy, IntegrationIDKey.ValueSet(in.IntegrationID))
	return res, err
}
