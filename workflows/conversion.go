package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/evidence"
	"github.com/affrelay/affrelay/postback"
)

// ConversionInput is one accepted postback.
type ConversionInput struct {
	IntegrationID string
	Event         postback.Event
	// Request is the postback as received and answered, stored with the conversion: the workflow input is
	// durable once the API acknowledged, so the request survives an API process killed right after (nil in
	// histories from before it was kept, and for events that arrive by other ways).
	Request *evidence.Request `json:",omitempty"`
	// StatusChange marks a later postback of a recorded event that carries another status (Event.Status):
	// the workflow, started under ConversionStatusWorkflowID, applies the change instead of recording.
	StatusChange bool `json:",omitempty"`
}

// ConversionResult says what the conversion produced.
type ConversionResult struct {
	ConversionID string
	PayoutMinor  int64
	Currency     string
	Deliveries   []string
	// Delivered lists the deliveries whose inline first attempt succeeded: they have no DeliveryWorkflow.
	// The others continue in one each.
	Delivered []string
}

// attributedAffiliateChange marks the version that sets the AffiliateID search attribute from attribution.
const attributedAffiliateChange = "attributed-affiliate-search-attribute"

// ConversionWorkflow records the event and its commission (one local activity, one transaction), then makes
// the first attempt of every delivery inline, as parallel local activities in the same workflow task; only a
// delivery whose first attempt failed gets a DeliveryWorkflow, which goes on with attempt 2 on the schedule.
// Conversions recorded before the inline first attempt existed (their RecordConversion result has no
// FirstAttemptTimeout), or by a worker configured without it, start a DeliveryWorkflow per delivery.
func ConversionWorkflow(ctx workflow.Context, in ConversionInput) (ConversionResult, error) {
	// Decided by the input, not by the code's version: histories from before status changes never take it.
	if in.StatusChange {
		return changeConversionStatus(ctx, in)
	}
	rec, err := recordConversion(ctx, activities.RecordConversionInput{
		IntegrationID: in.IntegrationID,
		WorkflowID:    workflow.GetInfo(ctx).WorkflowExecution.ID,
		Event:         in.Event,
		Request:       in.Request,
	})
	if err != nil {
		return ConversionResult{}, err
	}

	attrs := []temporal.SearchAttributeUpdate{IntegrationIDKey.ValueSet(in.IntegrationID), EventIDKey.ValueSet(in.Event.EventID)}
	result := ConversionResult{ConversionID: rec.ConversionID, PayoutMinor: rec.PayoutMinor, Currency: rec.Currency}
	if rec.FirstAttemptTimeout > 0 {
		// The version is in the recorded result, so this path needs no GetVersion marker (and no
		// TemporalChangeVersion search-attribute write on every event).
		if err := upsertAttributedAffiliate(ctx, rec.AffiliateID, in.Event.AffiliateID); err != nil {
			return ConversionResult{}, err
		}
		result.Deliveries, result.Delivered, err = deliverInline(ctx, rec.Deliveries, rec.Policy, rec.FirstAttemptTimeout, attrs...)
		return result, err
	}

	// Ops search by the affiliate the event was attributed to, not only the one it was sent with.
	if workflow.GetVersion(ctx, attributedAffiliateChange, workflow.DefaultVersion, 1) == 1 {
		if err := upsertAttributedAffiliate(ctx, rec.AffiliateID, in.Event.AffiliateID); err != nil {
			return ConversionResult{}, err
		}
	}
	result.Deliveries, err = startDeliveries(ctx, rec.Deliveries, rec.Policy, attrs...)
	return result, err
}

// upsertAttributedAffiliate sets AffiliateID to the affiliate the event was attributed to when that is not the
// one it was sent with (set at start).
func upsertAttributedAffiliate(ctx workflow.Context, attributed, sent string) error {
	if attributed == "" || attributed == sent {
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, AffiliateIDKey.ValueSet(attributed))
}

// How long a status change waits for the conversion it changes to be recorded, between looks, and at most.
const (
	statusChangeRetryEvery = 30 * time.Second
	statusChangeMaxWait    = 24 * time.Hour
)

// surfaceStatusChangeFailures marks the version of a status change that, when applying it fails for another
// reason than its conversion not being recorded yet, shows the conversion as stuck (or waiting for an FX rate),
// announces it and tries again, as a recording does, instead of failing the workflow. It is asked only on that
// path.
const surfaceStatusChangeFailures = "surface-status-change-failures"

// changeConversionStatus applies a status change (ChangeConversionStatus, one local activity) and delivers what
// an approval earned, as a recording would. A change that arrived while its conversion was still being
// recorded waits for it; one that fails otherwise surfaces as a recording does (retrySurfaced).
func changeConversionStatus(ctx workflow.Context, in ConversionInput) (ConversionResult, error) {
	var a *activities.Activities
	var rec activities.RecordConversionResult
	change := activities.ChangeConversionStatusInput{
		IntegrationID: in.IntegrationID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
		EventID: in.Event.EventID, Status: in.Event.Status,
	}
	apply := func() error {
		return workflow.ExecuteLocalActivity(withDatabaseWrite(ctx), a.ChangeConversionStatus, change).Get(ctx, &rec)
	}
	for waited := time.Duration(0); ; waited += statusChangeRetryEvery {
		err := apply()
		if err == nil {
			break
		}
		if !isErrorType(err, activities.ErrTypeNotRecorded) &&
			workflow.GetVersion(ctx, surfaceStatusChangeFailures, workflow.DefaultVersion, 1) == 1 {
			surfaced := activities.RecordConversionInput{IntegrationID: in.IntegrationID, WorkflowID: change.WorkflowID, Event: in.Event}
			if err := retrySurfaced(ctx, surfaced, err, apply); err != nil {
				return ConversionResult{}, err
			}
			break
		}
		if !isErrorType(err, activities.ErrTypeNotRecorded) || waited >= statusChangeMaxWait {
			return ConversionResult{}, err
		}
		if err := workflow.Sleep(ctx, statusChangeRetryEvery); err != nil {
			return ConversionResult{}, err
		}
	}
	attrs := []temporal.SearchAttributeUpdate{IntegrationIDKey.ValueSet(in.IntegrationID), EventIDKey.ValueSet(in.Event.EventID)}
	result := ConversionResult{ConversionID: rec.ConversionID, PayoutMinor: rec.PayoutMinor, Currency: rec.Currency}
	var err error
	if rec.FirstAttemptTimeout > 0 {
		result.Deliveries, result.Delivered, err = deliverInline(ctx, rec.Deliveries, rec.Policy, rec.FirstAttemptTimeout, attrs...)
	} else {
		result.Deliveries, err = startDeliveries(ctx, rec.Deliveries, rec.Policy, attrs...)
	}
	return result, err
}
