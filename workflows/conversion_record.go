package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/webhook"
)

// Conversion states, as shown in the ConversionState search attribute once recording a conversion failed:
// ops find waiting and stuck conversions in the Temporal UI (ConversionState = "fx_rate_missing").
const (
	ConversionStateFXRateMissing = "fx_rate_missing"
	ConversionStateStuck         = "stuck"
	ConversionStateRecorded      = "recorded"
)

// FXRateAddedSignal wakes a conversion waiting for an FX rate; adding a rate (POST /v1/admin/fx-rates) sends
// it to every waiting conversion. Without it the conversion still tries again every fxRateRetryEvery.
const FXRateAddedSignal = "fx-rate-added"

// How long a conversion that could not be recorded waits before it tries again.
const (
	fxRateRetryEvery = time.Hour
	stuckRetryEvery  = 10 * time.Minute
)

// surfaceRecordingFailures marks the version of ConversionWorkflow that, when recording fails, shows the
// conversion's state, announces it and tries again later, instead of retrying the local activity forever.
// It is asked only on that path, so the happy path's history is unchanged.
const surfaceRecordingFailures = "surface-recording-failures"

// recordConversion runs RecordConversion until it succeeds. A bounded series of quick retries covers a
// database blip; after it, the conversion becomes visible — the ConversionState search attribute and an ops
// event (fx.rate_missing or conversion.stuck) — and tries again on a timer, or at once when a missing FX rate
// is added. An acknowledged event is never dropped.
func recordConversion(ctx workflow.Context, in activities.RecordConversionInput) (activities.RecordConversionResult, error) {
	var a *activities.Activities
	var rec activities.RecordConversionResult
	record := func() error {
		return workflow.ExecuteLocalActivity(withDatabaseWrite(ctx), a.RecordConversion, in).Get(ctx, &rec)
	}
	err := record()
	if err == nil || workflow.GetVersion(ctx, surfaceRecordingFailures, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return rec, err
	}
	return rec, retrySurfaced(ctx, in, err, record)
}

// retrySurfaced runs write again until it succeeds, after it failed with err, showing the conversion's state
// meanwhile (see recordConversion), and then sets its state recorded.
func retrySurfaced(ctx workflow.Context, in activities.RecordConversionInput, err error, write func() error) error {
	fxRateAdded := workflow.GetSignalChannel(ctx, FXRateAddedSignal)
	surfaced := ""
	for err != nil {
		state, eventType, wait := ConversionStateStuck, webhook.ConversionStuck, stuckRetryEvery
		problem := webhook.ConversionProblemData{
			WorkflowID: in.WorkflowID, IntegrationID: in.IntegrationID, EventID: in.Event.EventID,
			AffiliateID: in.Event.AffiliateID, Reason: failureReason(err),
		}
		var missing activities.MissingRate
		if isErrorType(err, activities.ErrTypeFXRateMissing) {
			state, eventType, wait = ConversionStateFXRateMissing, webhook.FXRateMissing, fxRateRetryEvery
			if details(err, &missing) {
				problem.Base, problem.Quote = missing.Base, missing.Quote
			}
		}
		if state != surfaced {
			if err := surface(ctx, state, eventType, problem); err != nil {
				return err
			}
			surfaced = state
		}
		awaitRetry(ctx, wait, fxRateAdded)
		err = write()
	}
	return workflow.UpsertTypedSearchAttributes(ctx, ConversionStateKey.ValueSet(ConversionStateRecorded))
}

// surface sets the conversion's state and announces it. The announcement is best effort (the search
// attribute and the log already show the state): a failure to plan it does not stop the retries.
func surface(ctx workflow.Context, state, eventType string, problem webhook.ConversionProblemData) error {
	if err := workflow.UpsertTypedSearchAttributes(ctx, ConversionStateKey.ValueSet(state)); err != nil {
		return err
	}
	var a *activities.Activities
	var reported activities.OpsEventResult
	err := workflow.ExecuteActivity(withOpsEvent(ctx), a.ReportConversionProblem, activities.ReportConversionProblemInput{Type: eventType, Data: problem}).Get(ctx, &reported)
	if err == nil {
		_, err = startDeliveries(ctx, reported.Deliveries, reported.Policy)
	}
	if err != nil {
		workflow.GetLogger(ctx).Error("could not announce the conversion's state", "state", state, "error", err)
	}
	return nil
}

// withOpsEvent runs an activity that plans an ops event: a few quick retries, as the announcement is best effort.
func withOpsEvent(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5},
	})
}

// awaitRetry waits for wait, or until a signal arrives on wake.
func awaitRetry(ctx workflow.Context, wait time.Duration, wake workflow.ReceiveChannel) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, wait), func(workflow.Future) {})
	sel.AddReceive(wake, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		for c.ReceiveAsync(nil) { // one wake-up is enough for every signal already sent
		}
	})
	sel.Select(ctx)
}
