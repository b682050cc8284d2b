package workflows

import (
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

// ConversionWorkflow records the event and its commission (one local activity, one transaction), then starts one
// DeliveryWorkflow per outbound target and finishes without waiting for them.
func ConversionWorkflow(ctx workflow.Context, in ConversionInput) (ConversionResult, error) {
	var a *activities.Activities
	lctx := withDatabaseWrite(ctx)
	var rec activities.RecordConversionResult
	err := workflow.ExecuteLocalActivity(lctx, a.RecordConversion, activities.RecordConversionInput{
		IntegrationID: in.IntegrationID,
		WorkflowID:    workflow.GetInfo(ctx).WorkflowExecution.ID,
		Event:         in.Event,
	}).Get(ctx, &rec)
	if err != nil {
		return ConversionResult{}, err
	}

	result := ConversionResult{ConversionID: rec.ConversionID, PayoutMinor: rec.PayoutMinor, Currency: rec.Currency}
	result.Deliveries, err = startDeliveries(ctx, rec.Deliveries, rec.Policy,
		IntegrationIDKey.ValueSet(in.IntegrationID), EventIDKey.ValueSet(in.Event.EventID))
	return result, err
}
