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

// attributedAffiliateChange marks the version that sets the AffiliateID search attribute from attribution.
const attributedAffiliateChange = "attributed-affiliate-search-attribute"

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

	// Ops search by the affiliate the event was attributed to, not only the one it was sent with.
	if workflow.GetVersion(ctx, attributedAffiliateChange, workflow.DefaultVersion, 1) == 1 &&
		rec.AffiliateID != "" && rec.AffiliateID != in.Event.AffiliateID {
		if err := workflow.UpsertTypedSearchAttributes(ctx, AffiliateIDKey.ValueSet(rec.AffiliateID)); err != nil {
			return ConversionResult{}, err
		}
	}

	result := ConversionResult{ConversionID: rec.ConversionID, PayoutMinor: rec.PayoutMinor, Currency: rec.Currency}
	result.Deliveries, err = startDeliveries(ctx, rec.Deliveries, rec.Policy,
		IntegrationIDKey.ValueSet(in.IntegrationID), EventIDKey.ValueSet(in.Event.EventID))
	return result, err
}
