package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/webhook"
)

// A conversion whose FX rate is missing waits visibly (ConversionState, fx.rate_missing) and is recorded
// as soon as the rate's signal arrives, long before its own retry timer.
func TestConversionWaitsForMissingFXRateUntilSignalled(t *testing.T) {
	env := newEnv(t)
	rateAdded := false
	var recordAttempts []time.Time
	env.OnActivity(acts.RecordConversion, mock.Anything, mock.Anything).Return(func(context.Context, activities.RecordConversionInput) (activities.RecordConversionResult, error) {
		recordAttempts = append(recordAttempts, env.Now())
		if !rateAdded {
			return activities.RecordConversionResult{}, temporal.NewNonRetryableApplicationError("no FX rate from EUR to USD", activities.ErrTypeFXRateMissing, nil,
				activities.MissingRate{Base: "EUR", Quote: "USD"})
		}
		return activities.RecordConversionResult{ConversionID: "cnv_1", PayoutMinor: 15000, Currency: "USD", Policy: retrypolicy.DefaultPolicy()}, nil
	})
	var reported []activities.ReportConversionProblemInput
	env.OnActivity(acts.ReportConversionProblem, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReportConversionProblemInput) (activities.OpsEventResult, error) {
		reported = append(reported, in)
		return activities.OpsEventResult{}, nil
	})
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(ConversionStateKey.ValueSet(ConversionStateFXRateMissing))).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(ConversionStateKey.ValueSet(ConversionStateRecorded))).Return(nil).Once()
	env.RegisterDelayedCallback(func() {
		rateAdded = true
		env.SignalWorkflow(FXRateAddedSignal, nil)
	}, 5*time.Minute)

	env.ExecuteWorkflow(ConversionWorkflow, ConversionInput{IntegrationID: "int_1"})
	require.NoError(t, env.GetWorkflowError())
	var res ConversionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "cnv_1", res.ConversionID)
	env.AssertExpectations(t)

	require.Len(t, recordAttempts, 2, "a missing rate is not retried in a loop: once, then once more when the rate is added")
	require.InDelta(t, (5 * time.Minute).Seconds(), recordAttempts[1].Sub(recordAttempts[0]).Seconds(), 1)
	require.Len(t, reported, 1)
	require.Equal(t, webhook.FXRateMissing, reported[0].Type)
	require.Equal(t, "EUR", reported[0].Data.Base)
	require.Equal(t, "USD", reported[0].Data.Quote)
}

// A conversion whose recording fails (here without retries, as the test environment sleeps through local
// activity backoff) shows as stuck, is announced once, and tries again on a timer until it is recorded.
func TestConversionThatCannotBeRecordedSurfacesAsStuck(t *testing.T) {
	env := newEnv(t)
	var recordAttempts int
	env.OnActivity(acts.RecordConversion, mock.Anything, mock.Anything).Return(func(context.Context, activities.RecordConversionInput) (activities.RecordConversionResult, error) {
		recordAttempts++
		if recordAttempts <= 2 {
			return activities.RecordConversionResult{}, temporal.NewNonRetryableApplicationError("database is down", "Test", nil)
		}
		return activities.RecordConversionResult{ConversionID: "cnv_1", Policy: retrypolicy.DefaultPolicy()}, nil
	})
	var reported []string
	env.OnActivity(acts.ReportConversionProblem, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReportConversionProblemInput) (activities.OpsEventResult, error) {
		reported = append(reported, in.Type+": "+in.Data.Reason)
		return activities.OpsEventResult{}, nil
	})
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(ConversionStateKey.ValueSet(ConversionStateStuck))).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(ConversionStateKey.ValueSet(ConversionStateRecorded))).Return(nil).Once()
	start := env.Now()

	env.ExecuteWorkflow(ConversionWorkflow, ConversionInput{IntegrationID: "int_1"})
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
	require.Equal(t, 3, recordAttempts)
	require.Equal(t, []string{webhook.ConversionStuck + ": database is down"}, reported, "announced once, not per series")
	require.GreaterOrEqual(t, env.Now().Sub(start), 2*stuckRetryEvery)
}

// A status change that fails for another reason than its conversion not being recorded yet (a database
// that is down, a missing FX rate) does not fail its workflow: it shows as stuck, is announced once, and is
// applied on a later try; one whose conversion is not recorded yet waits for it without being announced.
func TestStatusChangeThatCannotBeAppliedSurfacesAsStuck(t *testing.T) {
	env := newEnv(t)
	var tries int
	env.OnActivity(acts.ChangeConversionStatus, mock.Anything, mock.Anything).Return(func(context.Context, activities.ChangeConversionStatusInput) (activities.RecordConversionResult, error) {
		tries++
		switch tries {
		case 1:
			return activities.RecordConversionResult{}, temporal.NewNonRetryableApplicationError("conversion tx-1 is not recorded yet", activities.ErrTypeNotRecorded, nil)
		case 2, 3:
			return activities.RecordConversionResult{}, temporal.NewNonRetryableApplicationError("database is down", "Test", nil)
		}
		return activities.RecordConversionResult{ConversionID: "cnv_1", PayoutMinor: 20000, Currency: "USD", Policy: retrypolicy.DefaultPolicy()}, nil
	})
	var reported []string
	env.OnActivity(acts.ReportConversionProblem, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReportConversionProblemInput) (activities.OpsEventResult, error) {
		reported = append(reported, in.Type+": "+in.Data.EventID+": "+in.Data.Reason)
		return activities.OpsEventResult{}, nil
	})
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(ConversionStateKey.ValueSet(ConversionStateStuck))).Return(nil).Once()
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(ConversionStateKey.ValueSet(ConversionStateRecorded))).Return(nil).Once()

	env.ExecuteWorkflow(ConversionWorkflow, ConversionInput{
		IntegrationID: "int_1", StatusChange: true, Event: postback.Event{EventID: "tx-1", Status: postback.StatusApproved},
	})
	require.NoError(t, env.GetWorkflowError())
	var res ConversionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "cnv_1", res.ConversionID)
	env.AssertExpectations(t)
	require.Equal(t, 4, tries)
	require.Equal(t, []string{webhook.ConversionStuck + ": tx-1: database is down"}, reported, "announced once, not per try")
}

// A delivery whose state cannot be stored shows DeliveryState = "stuck" and stores it later, instead of
// retrying out of sight; the operator's skip still ends it.
func TestDeliveryStateThatCannotBeStoredSurfacesAsStuck(t *testing.T) {
	env := newEnv(t)
	answers404(env)
	var stored []string
	failures := 0
	env.OnActivity(acts.SetDeliveryStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SetDeliveryStatusInput) (activities.SetDeliveryStatusResult, error) {
		if in.Status == DeliveryStateNeedsReview && failures < 2 {
			failures++
			return activities.SetDeliveryStatusResult{}, temporal.NewNonRetryableApplicationError("database is down", "Test", nil)
		}
		stored = append(stored, in.Status)
		if in.Status == DeliveryStateNeedsReview {
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SkipSignal, nil) }, time.Minute)
		}
		return activities.SetDeliveryStatusResult{}, nil
	})
	env.OnActivity(acts.ReportDeliveryStuck, mock.Anything, mock.Anything).Return(activities.OpsEventResult{}, nil)
	start := env.Now()
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Policy: retrypolicy.DefaultPolicy()})
	require.NoError(t, env.GetWorkflowError())
	var res DeliveryResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, DeliveryStateSkipped, res.State)
	require.Equal(t, []string{DeliveryStateNeedsReview, DeliveryStateSkipped}, stored)
	require.GreaterOrEqual(t, env.Now().Sub(start), 2*stuckRetryEvery, "tried again on the timer")
}
