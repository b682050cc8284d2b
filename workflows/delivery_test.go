package workflows

import (
	"context"
	"errors"
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
	"github.com/affrelay/affrelay/webhook"
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

// answers404 has every attempt meet a receiver that answers 404: the series fails for good at once and the
// delivery goes to review.
func answers404(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(acts.AttemptDelivery, mock.Anything, mock.Anything).Return(activities.AttemptDeliveryResult{},
		temporal.NewNonRetryableApplicationError("HTTP 404", activities.ErrTypePermanent, nil))
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

// stuckStep is one call the stuck-delivery test saw, in order: a state stored or failed, a DeliveryState
// shown, an ops event reported.
type stuckStep struct {
	What   string
	Writes int // SetDeliveryStatus calls so far
}

// Storing a state change is retried a bounded number of times (databaseWriteRetry); then the delivery shows
// DeliveryState = "stuck", announces delivery.stuck (the first try to plan it fails too: the database is
// down), tries again every stuckRetryEvery, and once the state is stored announces delivery.unstuck and shows
// the state.
func TestDeliveryStateStoringIsBoundedThenStuckAnnouncedAndRecovered(t *testing.T) {
	saved := databaseWriteRetry
	databaseWriteRetry.InitialInterval, databaseWriteRetry.MaximumInterval = time.Millisecond, time.Millisecond
	t.Cleanup(func() { databaseWriteRetry = saved })
	bounded := int(databaseWriteRetry.MaximumAttempts)

	env := newEnv(t)
	answers404(env)
	var steps []stuckStep
	writes := 0
	env.OnActivity(acts.SetDeliveryStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SetDeliveryStatusInput) (activities.SetDeliveryStatusResult, error) {
		writes++
		if in.Status == DeliveryStateNeedsReview && writes <= 2*bounded {
			return activities.SetDeliveryStatusResult{}, errors.New("database is down") // retryable
		}
		steps = append(steps, stuckStep{"stored " + in.Status, writes})
		if in.Status == DeliveryStateNeedsReview {
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SkipSignal, nil) }, time.Minute)
		}
		return activities.SetDeliveryStatusResult{}, nil
	})
	var reported []activities.ReportDeliveryStuckInput
	env.OnActivity(acts.ReportDeliveryStuck, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReportDeliveryStuckInput) (activities.OpsEventResult, error) {
		reported = append(reported, in)
		if len(reported) == 1 {
			steps = append(steps, stuckStep{"report failed " + in.Type, writes})
			return activities.OpsEventResult{}, temporal.NewNonRetryableApplicationError("database is down", "Test", nil)
		}
		steps = append(steps, stuckStep{"reported " + in.Type, writes})
		return activities.OpsEventResult{}, nil
	})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		state, _ := args.Get(0).(temporal.SearchAttributes).GetKeyword(DeliveryStateKey)
		steps = append(steps, stuckStep{"shown " + state, writes})
	})

	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Policy: retrypolicy.DefaultPolicy()})
	require.NoError(t, env.GetWorkflowError())
	var res DeliveryResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, DeliveryStateSkipped, res.State)
	require.Equal(t, []stuckStep{
		{"shown needs_review", 0},
		{"shown stuck", bounded}, // the bounded retries ran out
		{"report failed delivery.stuck", bounded},
		{"reported delivery.stuck", 2 * bounded}, // the next series on the timer failed too; announcing worked
		{"stored needs_review", 2*bounded + 1},
		{"reported delivery.unstuck", 2*bounded + 1},
		{"shown needs_review", 2*bounded + 1},
		{"shown skipped", 2*bounded + 1},
		{"stored skipped", 2*bounded + 2},
	}, steps)
	require.Len(t, reported, 3)
	stuck, unstuck := reported[1], reported[2]
	require.Equal(t, reported[0], stuck, "the failed announcement is tried again as it was")
	require.Equal(t, webhook.DeliveryUnstuck, unstuck.Type)
	require.Equal(t, stuck.Episode, unstuck.Episode, "one episode, one key")
	require.Equal(t, "dlv_1", stuck.Data.DeliveryID)
	require.Equal(t, DeliveryStateNeedsReview, stuck.Data.State)
	require.Contains(t, stuck.Data.Reason, "database is down")
	require.Nil(t, stuck.Data.UnstuckAt)
	require.NotNil(t, unstuck.Data.UnstuckAt)
	require.GreaterOrEqual(t, unstuck.Data.UnstuckAt.Sub(stuck.Data.StuckSince), 2*stuckRetryEvery)
}

// A delivery that is not in the database fails its workflow at once: no retries, no stuck state, nothing
// announced.
func TestDeliveryStateOfAMissingDeliveryFailsAtOnce(t *testing.T) {
	env := newEnv(t)
	answers404(env)
	writes := 0
	env.OnActivity(acts.SetDeliveryStatus, mock.Anything, mock.Anything).Return(func(context.Context, activities.SetDeliveryStatusInput) (activities.SetDeliveryStatusResult, error) {
		writes++
		return activities.SetDeliveryStatusResult{}, temporal.NewNonRetryableApplicationError("delivery dlv_1 not found", activities.ErrTypeNotFound, nil)
	})
	env.OnActivity(acts.ReportDeliveryStuck, mock.Anything, mock.Anything).Return(activities.OpsEventResult{}, nil).Never()
	start := env.Now()
	env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Policy: retrypolicy.DefaultPolicy()})
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.True(t, isErrorType(err, activities.ErrTypeNotFound), "%v", err)
	require.Equal(t, 1, writes)
	require.Less(t, env.Now().Sub(start), stuckRetryEvery)
}
