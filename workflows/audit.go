package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
)

// AuditCheckpointCron is when the audit chain's head is checkpointed and sent out: daily at 00:10 UTC.
const AuditCheckpointCron = "10 0 * * *"

// AuditCheckpointScheduleID is the id of the Temporal Schedule that starts AuditCheckpointWorkflow for the
// workers of a task queue.
func AuditCheckpointScheduleID(taskQueue string) string {
	return "audit-checkpoint-daily:" + taskQueue
}

// AuditCheckpointWorkflow takes a checkpoint of the audit chain's head and delivers it as audit.checkpoint to
// the subscriptions that asked for it, so a copy of the head is kept outside the database.
func AuditCheckpointWorkflow(ctx workflow.Context) (uint, error) {
	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
	var taken activities.TakeAuditCheckpointResult
	if err := workflow.ExecuteActivity(actx, a.TakeAuditCheckpoint).Get(ctx, &taken); err != nil {
		return 0, err
	}
	_, err := startDeliveries(ctx, taken.Deliveries, taken.Policy)
	return taken.Checkpoint.ID, err
}
