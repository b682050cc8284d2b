package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/retrypolicy"
)

func TestConversionDeliversInlineAndStartsWorkflowsOnlyForFailures(t *testing.T) {
	env := newEnv(t)
	policy := retrypolicy.DefaultPolicy()
	env.OnActivity(acts.RecordConversion, mock.Anything, mock.Anything).Return(activities.RecordConversionResult{
		ConversionID: "cnv_1", Policy: policy, FirstAttemptTimeout: 2 * time.Second,
		Deliveries: []activities.DeliveryRef{{ID: "dlv_ok", AffiliateID: "aff_1"}, {ID: "dlv_503", AffiliateID: "aff_1"}, {ID: "dlv_404", AffiliateID: "aff_1"}},
	}, nil)
	started := env.Now()
	outcomes := map[string]activities.FirstAttemptResult{
		"dlv_ok":  {Delivered: true, Attempted: true, StartedAt: started, StatusCode: 200},
		"dlv_503": {Attempted: true, StartedAt: started, StatusCode: 503, ErrorType: activities.ErrTypeRetryable, Reason: "HTTP 503", NextDelay: 30 * time.Second},
		"dlv_404": {Attempted: true, StartedAt: started, StatusCode: 404, ErrorType: activities.ErrTypePermanent, Reason: "HTTP 404 is not retried"},
	}
	env.OnActivity(acts.FirstAttempt, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FirstAttemptInput) (activities.FirstAttemptResult, error) {
		require.Equal(t, 2*time.Second, in.Timeout)
		return outcomes[in.DeliveryID], nil
	})
	children := map[string]*activities.FirstAttemptResult{}
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		var in DeliveryInput
		require.NoError(t, args.Get(&in))
		require.Equal(t, DeliveryWorkflowID(in.DeliveryID), info.WorkflowExecution.ID)
		children[in.DeliveryID] = in.FirstAttempt
	})
	env.OnWorkflow(DeliveryWorkflow, mock.Anything, mock.Anything).Return(DeliveryResult{}, nil)

	env.ExecuteWorkflow(ConversionWorkflow, ConversionInput{IntegrationID: "int_1"})
	require.NoError(t, env.GetWorkflowError())
	var res ConversionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []string{"dlv_ok", "dlv_503", "dlv_404"}, res.Deliveries)
	require.Equal(t, []string{"dlv_ok"}, res.Delivered)
	// Only the failed ones get a DeliveryWorkflow, which is told how the first attempt ended.
	require.Len(t, children, 2)
	require.Equal(t, activities.ErrTypeRetryable, children["dlv_503"].ErrorType)
	require.Equal(t, activities.ErrTypePermanent, children["dlv_404"].ErrorType)
}

func TestConversionInlineAttemptThatCouldNotRunStartsAFreshSeries(t *testing.T) {
	env := newEnv(t)
	policy := retrypolicy.DefaultPolicy()
	env.OnActivity(acts.RecordConversion, mock.Anything, mock.Anything).Return(activities.RecordConversionResult{
		ConversionID: "cnv_1", Policy: policy, FirstAttemptTimeout: 2 * time.Second,
		Deliveries: []activities.DeliveryRef{{ID: "dlv_a", AffiliateID: "aff_1"}, {ID: "dlv_owned", AffiliateID: "aff_1"}},
	}, nil)
	env.OnActivity(acts.FirstAttempt, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FirstAttemptInput) (activities.FirstAttemptResult, error) {
		if in.DeliveryID == "dlv_owned" {
			return activities.FirstAttemptResult{}, nil // attempted before: a DeliveryWorkflow owns it
		}
		return activities.FirstAttemptResult{}, context.DeadlineExceeded
	})
	children := map[string]*activities.FirstAttemptResult{}
	env.SetOnChildWorkflowStartedListener(func(_ *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		var in DeliveryInput
		require.NoError(t, args.Get(&in))
		children[in.DeliveryID] = in.FirstAttempt
	})
	env.OnWorkflow(DeliveryWorkflow, mock.Anything, mock.Anything).Return(DeliveryResult{}, nil)
	env.ExecuteWorkflow(ConversionWorkflow, ConversionInput{IntegrationID: "int_1"})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, map[string]*activities.FirstAttemptResult{"dlv_a": nil, "dlv_owned": nil}, children)
}

func TestDeliveryContinuesFromAttemptTwoOnTheSchedule(t *testing.T) {
	env := newEnv(t)
	policy := retrypolicy.DefaultPolicy()
	first := env.Now()
	var starts []time.Time
	env.OnActivity(acts.AttemptDelivery, mock.Anything, mock.Anything).Return(failingAttempt(policy, &starts, env.Now))
	skipAfterReview(env)
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Policy: policy, FirstAttempt: &activities.FirstAttemptResult{
		Attempted: true, StartedAt: first, StatusCode: 503, ErrorType: activities.ErrTypeRetryable, Reason: "HTTP 503", NextDelay: 30 * time.Second,
	}})
	require.NoError(t, env.GetWorkflowError())

	// The inline attempt was attempt 1 at 0; the workflow makes attempts 2..15 exactly on the timetable.
	offsets := policy.Offsets()
	require.Len(t, offsets, 15)
	require.Len(t, starts, 14)
	for i, s := range starts {
		require.InDelta(t, offsets[i+1].Seconds(), s.Sub(first).Seconds(), 1, "attempt %d", i+2)
	}
}

func TestDeliveryAfterPermanentInlineFailureGoesStraightToReview(t *testing.T) {
	env := newEnv(t)
	var statuses, reasons []string
	env.OnActivity(acts.SetDeliveryStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SetDeliveryStatusInput) (activities.SetDeliveryStatusResult, error) {
		statuses, reasons = append(statuses, in.Status), append(reasons, in.Reason)
		if in.Status == DeliveryStateNeedsReview {
			require.True(t, in.TargetGone)
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SkipSignal, nil) }, time.Minute)
		}
		return activities.SetDeliveryStatusResult{}, nil
	})
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Policy: retrypolicy.DefaultPolicy(), FirstAttempt: &activities.FirstAttemptResult{
		Attempted: true, StartedAt: env.Now(), StatusCode: 410, ErrorType: activities.ErrTypeGone, Reason: "HTTP 410; endpoint disabled",
	}})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{DeliveryStateNeedsReview, DeliveryStateSkipped}, statuses)
	require.Equal(t, "HTTP 410; endpoint disabled", reasons[0])
}
