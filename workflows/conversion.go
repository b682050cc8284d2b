package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/postback"
)

// ConversionInput is one accepted postback.
type ConversionInput struct {
	IntegrationID string
	Event         postback.Event
}

// ConversionResult says what the conversion produced.
type ConversionResult struct {
	ConversionID string
	PayoutMinor  int64
	Currency     string
	Deliveries   []string
}

// attributedAffiliateChange marks the version that sets the AffiliateID search attribute from attribution.
const attributedAffiliateChange = "attributed-affiliate-search-attribute"

// ConversionWorkflow records the event and its commission (one local activity, one transaction), then starts one
// DeliveryWorkflow per outbound target and finishes without waiting for them.
func ConversionWorkflow(ctx workflow.Context, in ConversionInput) (ConversionResult, error) {
	var a *activities.Activities
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// The database may be down for a while; the event is safe in history, so keep trying.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 0},
	})
	var rec activities.RecordConversionResult
	err := workflow.ExecuteLocalActivity(lctx, a.RecordConversion, activities.RecordConversionInput{
		IntegrationID: in.IntegrationID,
		WorkflowID:    workflow.GetInfo(ctx).WorkflowExecution.ID,
		Event:         in.Event,
	}).Get(ctx, &rec)
	if err != nil {
		return ConversionResult{}, err
	}

	// Ops search by the affiliate the event was attributed to, not only the one it was sent with.
	if workflow.GetVersion(ctx, attributedAffiliateChange, workflow.DefaultVersion, 1) == 1 &&
		rec.AffiliateID != "" && rec.AffiliateID != in.Event.AffiliateID {
		if err := workflow.UpsertTypedSearchAttributes(ctx, AffiliateIDKey.ValueSet(rec.AffiliateID)); err != nil {
			return ConversionResult{}, err
		}
	}

	result := ConversionResult{ConversionID: rec.ConversionID, PayoutMinor: rec.PayoutMinor, Currency: rec.Currency}
	var starts []workflow.ChildWorkflowFuture
	for _, d := range rec.Deliveries {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID: DeliveryWorkflowID(d.ID),
			// The delivery outlives this workflow: retries can take a day, and replays longer.
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				DeliveryStateKey.ValueSet(DeliveryStatePending),
				AffiliateIDKey.ValueSet(d.AffiliateID),
				IntegrationIDKey.ValueSet(in.IntegrationID),
				EventIDKey.ValueSet(in.Event.EventID),
			),
		})
		starts = append(starts, workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflow, DeliveryInput{DeliveryID: d.ID, Policy: rec.Policy}))
		result.Deliveries = append(result.Deliveries, d.ID)
	}
	for _, f := range starts {
		// Wait for the start only. A delivery started by an earlier run (reset, replay) counts as started.
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return result, err
		}
	}
	return result, nil
}
