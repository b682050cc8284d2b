package workflows

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/retrypolicy"
)

var acts *activities.Activities

// quietEnv is a test environment that logs nothing.
func quietEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	return s.NewTestWorkflowEnvironment()
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	env := quietEnv()
	env.RegisterWorkflow(DeliveryWorkflow)
	env.RegisterWorkflow(ConversionWorkflow)
	env.RegisterWorkflow(AffiliateSignupWorkflow)
	env.RegisterActivity(&activities.Activities{})
	return env
}

// failingAttempt mimics AttemptDelivery against a receiver that answers 503: it returns the schedule's delay.
func failingAttempt(policy retrypolicy.Policy, starts *[]time.Time, now func() time.Time) func(context.Context, activities.AttemptDeliveryInput) (activities.AttemptDeliveryResult, error) {
	return func(ctx context.Context, in activities.AttemptDeliveryInput) (activities.AttemptDeliveryResult, error) {
		*starts = append(*starts, now())
		v := retrypolicy.Verdict{Outcome: retrypolicy.Retryable, Reason: "HTTP 503"}
		return activities.AttemptDeliveryResult{}, temporal.NewApplicationErrorWithOptions("HTTP 503", activities.ErrTypeRetryable,
			temporal.ApplicationErrorOptions{NextRetryDelay: policy.NextDelay(in.PriorAttempts+int(activity.GetInfo(ctx).Attempt), v)})
	}
}

func TestDeliveryFollowsRetryScheduleThenNeedsReview(t *testing.T) {
	env := newEnv(t)
	policy := retrypolicy.DefaultPolicy()
	var starts []time.Time
	env.OnActivity(acts.AttemptDelivery, mock.Anything, mock.Anything).Return(failingAttempt(policy, &starts, env.Now))
	var statuses []string
	env.OnActivity(acts.SetDeliveryStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SetDeliveryStatusInput) (activities.SetDeliveryStatusResult, error) {
		statuses = append(statuses, in.Status)
		if in.Status == DeliveryStateNeedsReview {
			// Ops look at it and give up on it.
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SkipSignal, nil) }, time.Minute)
		}
		return activities.SetDeliveryStatusResult{}, nil
	})

	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Policy: policy})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res DeliveryResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, DeliveryStateSkipped, res.State)
	require.Equal(t, []string{DeliveryStateNeedsReview, DeliveryStateSkipped}, statuses)

	// Attempts start exactly on the configured timetable: 0, 30s, 2m30s, 12m30s, 1h12m30s, then hourly; 15 of them.
	want := []time.Duration{0, 30 * time.Second, 150 * time.Second, 750 * time.Second}
	for i := 4; i < 15; i++ {
		want = append(want, 750*time.Second+time.Duration(i-3)*time.Hour)
	}
	require.Len(t, starts, 15)
	for i, s := range starts {
		require.InDelta(t, want[i].Seconds(), s.Sub(starts[0]).Seconds(), 1, "attempt %d", i+1)
	}
	require.Less(t, starts[14].Sub(starts[0]), 24*time.Hour)
}

func TestDeliveryCustomScheduleFromConfig(t *testing.T) {
	env := newEnv(t)
	policy := retrypolicy.Policy{Schedule: []time.Duration{time.Second, 5 * time.Second}, MaxAttempts: 4, Window: time.Hour, MaxRetryAfter: time.Minute}
	var starts []time.Time
	env.OnActivity(acts.AttemptDelivery, mock.Anything, mock.Anything).Return(failingAttempt(policy, &starts, env.Now))
	skipAfterReview(env)
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Policy: policy})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, starts, 4)
	for i, want := range []time.Duration{0, time.Second, 6 * time.Second, 11 * time.Second} {
		require.InDelta(t, want.Seconds(), starts[i].Sub(starts[0]).Seconds(), 0.5, "attempt %d", i+1)
	}
}

// An attempt's activity may run for its request's timeout plus the time to store it, so an attempt lost with a
// killed worker is retried that soon (it was two minutes whatever delivery.timeout said); inputs recorded
// before the policy carried the timeout keep two minutes.
func TestDeliveryAttemptTimeoutSizedToRequestTimeout(t *testing.T) {
	for _, tc := range []struct {
		attemptTimeout, want time.Duration
	}{
		{10 * time.Second, 20 * time.Second},
		{3 * time.Second, 13 * time.Second},
		{0, 2 * time.Minute},
	} {
		t.Run(tc.attemptTimeout.String(), func(t *testing.T) {
			env := newEnv(t)
			policy := retrypolicy.DefaultPolicy()
			policy.AttemptTimeout = tc.attemptTimeout
			var allowed time.Duration
			env.OnActivity(acts.AttemptDelivery, mock.Anything, mock.Anything).Return(func(ctx context.Context, _ activities.AttemptDeliveryInput) (activities.AttemptDeliveryResult, error) {
				info := activity.GetInfo(ctx)
				allowed = info.Deadline.Sub(info.StartedTime)
				return activities.AttemptDeliveryResult{Attempt: 1, StatusCode: 200}, nil
			})
			env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Policy: policy})
			require.NoError(t, env.GetWorkflowError())
			require.InDelta(t, tc.want.Seconds(), allowed.Seconds(), 1)
		})
	}
}

// skipAfterReview has ops skip the delivery a minute after it enters review.
func skipAfterReview(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(acts.SetDeliveryStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SetDeliveryStatusInput) (activities.SetDeliveryStatusResult, error) {
		if in.Status == DeliveryStateNeedsReview {
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SkipSignal, nil) }, time.Minute)
		}
		return activities.SetDeliveryStatusResult{}, nil
	})
}

// Redeliver, and its old name replay that running workflows and old scripts may still send, start a new series.
func TestDeliveryNeedsReviewThenReplayDelivers(t *testing.T) {
	for _, signal := range []string{RedeliverSignal, replaySignal} {
		t.Run(signal, func(t *testing.T) {
			env := newEnv(t)
			policy := retrypolicy.DefaultPolicy()
			series := 0
			env.OnActivity(acts.AttemptDelivery, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.AttemptDeliveryInput) (activities.AttemptDeliveryResult, error) {
				if activity.GetInfo(ctx).Attempt == 1 {
					series++
				}
				if series == 1 {
					return activities.AttemptDeliveryResult{}, temporal.NewNonRetryableApplicationError("HTTP 404 is not retried", activities.ErrTypePermanent, nil)
				}
				return activities.AttemptDeliveryResult{Attempt: 2, StatusCode: 200}, nil
			})
			var statuses, reasons []string
			env.OnActivity(acts.SetDeliveryStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SetDeliveryStatusInput) (activities.SetDeliveryStatusResult, error) {
				statuses = append(statuses, in.Status)
				reasons = append(reasons, in.Reason)
				return activities.SetDeliveryStatusResult{}, nil
			})
			// A stray replay before the review must not count; the one sent during the review does.
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(signal, nil) }, 0)
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(signal, nil) }, 2*time.Hour)

			env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Policy: policy})
			require.NoError(t, env.GetWorkflowError())
			var res DeliveryResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, DeliveryResult{State: DeliveryStateDelivered, Attempts: 2, StatusCode: 200}, res)
			require.Equal(t, []string{DeliveryStateNeedsReview, DeliveryStatePending}, statuses)
			require.Contains(t, reasons[0], "HTTP 404 is not retried")
			require.Equal(t, 2, series)
		})
	}
}

func TestConversionStartsOneDeliveryPerTarget(t *testing.T) {
	env := newEnv(t)
	policy := retrypolicy.DefaultPolicy()
	env.OnActivity(acts.RecordConversion, mock.Anything, mock.Anything).Return(activities.RecordConversionResult{
		ConversionID: "cnv_1", PayoutMinor: 20000, Currency: "USD", Policy: policy,
		Deliveries: []activities.DeliveryRef{{ID: "dlv_a", AffiliateID: "aff_1"}, {ID: "dlv_b", AffiliateID: "aff_1"}},
	}, nil)
	started := recordDeliveryStarts(t, env, policy)
	env.OnWorkflow(DeliveryWorkflow, mock.Anything, mock.Anything).Return(DeliveryResult{State: DeliveryStateDelivered}, nil)
	env.ExecuteWorkflow(ConversionWorkflow, ConversionInput{IntegrationID: "int_1"})
	require.NoError(t, env.GetWorkflowError())
	var res ConversionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, []string{"dlv_a", "dlv_b"}, res.Deliveries)
	require.ElementsMatch(t, []string{"dlv_a", "dlv_b"}, *started)
}

func TestConversionSearchableByAttributedAffiliate(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(acts.RecordConversion, mock.Anything, mock.Anything).Return(activities.RecordConversionResult{
		ConversionID: "cnv_1", AffiliateID: "aff_from_click", Policy: retrypolicy.DefaultPolicy(),
	}, nil)
	env.OnUpsertTypedSearchAttributes(temporal.NewSearchAttributes(AffiliateIDKey.ValueSet("aff_from_click"))).Return(nil).Once()
	env.ExecuteWorkflow(ConversionWorkflow, ConversionInput{IntegrationID: "int_1"})
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

// recordDeliveryStarts collects the ids of the DeliveryWorkflow children the workflow under test starts,
// checking that each runs by policy under its business-key workflow id.
func recordDeliveryStarts(t *testing.T, env *testsuite.TestWorkflowEnvironment, policy retrypolicy.Policy) *[]string {
	var started []string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, args converter.EncodedValues) {
		var in DeliveryInput
		require.NoError(t, args.Get(&in))
		require.Equal(t, policy, in.Policy)
		require.Equal(t, DeliveryWorkflowID(in.DeliveryID), info.WorkflowExecution.ID)
		started = append(started, in.DeliveryID)
	})
	return &started
}
