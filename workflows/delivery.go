package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// Delivery states, as shown in the DeliveryState search attribute and the deliveries table.
const (
	DeliveryStatePending     = store.DeliveryPending
	DeliveryStateDelivered   = store.DeliveryDelivered
	DeliveryStateNeedsReview = store.DeliveryNeedsReview
	DeliveryStateSkipped     = store.DeliverySkipped
)

// Signals an operator sends to a delivery in needs_review (from the admin API, the CLI or the Temporal UI).
const (
	// ReplaySignal starts a new attempt series from attempt 1.
	ReplaySignal = "replay"
	// SkipSignal gives the delivery up for good.
	SkipSignal = "skip"
)

// DeliveryInput names the delivery and the retry policy it runs by.
type DeliveryInput struct {
	DeliveryID string
	Policy     retrypolicy.Policy
}

// DeliveryResult is the final state of a delivery.
type DeliveryResult struct {
	State      string
	Attempts   int
	StatusCode int
}

// DeliveryWorkflow sends one outbound message with the configured retry schedule. When an attempt series
// fails for good it parks in needs_review and waits for replay or skip.
func DeliveryWorkflow(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	d := &delivery{in: in}
	d.setup(ctx)
	return d.run(ctx)
}

type delivery struct {
	in     DeliveryInput
	replay workflow.ReceiveChannel
	skip   workflow.ReceiveChannel
}

func (d *delivery) setup(ctx workflow.Context) {
	d.replay = workflow.GetSignalChannel(ctx, ReplaySignal)
	d.skip = workflow.GetSignalChannel(ctx, SkipSignal)
}

func (d *delivery) run(ctx workflow.Context) (DeliveryResult, error) {
	var a *activities.Activities
	p := d.in.Policy
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// One series: at most MaxAttempts attempts within Window; NextRetryDelay on each failure sets the exact gap.
		ScheduleToCloseTimeout: p.Window,
		StartToCloseTimeout:    2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        p.DelayAfter(1),
			BackoffCoefficient:     2,
			MaximumInterval:        maxDuration(p.Schedule),
			MaximumAttempts:        int32(p.MaxAttempts),
			NonRetryableErrorTypes: []string{activities.ErrTypePermanent, activities.ErrTypeGone, activities.ErrTypeEndpointDisabled},
		},
	})
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	setStatus := func(in activities.SetDeliveryStatusInput) (activities.SetDeliveryStatusResult, error) {
		var res activities.SetDeliveryStatusResult
		if err := workflow.UpsertTypedSearchAttributes(ctx, DeliveryStateKey.ValueSet(in.Status)); err != nil {
			return res, err
		}
		in.DeliveryID = d.in.DeliveryID
		err := workflow.ExecuteLocalActivity(lctx, a.SetDeliveryStatus, in).Get(ctx, &res)
		return res, err
	}

	for {
		var res activities.AttemptDeliveryResult
		err := workflow.ExecuteActivity(actx, a.AttemptDelivery, activities.AttemptDeliveryInput{DeliveryID: d.in.DeliveryID, Policy: p}).Get(ctx, &res)
		if err == nil {
			if err := workflow.UpsertTypedSearchAttributes(ctx, DeliveryStateKey.ValueSet(DeliveryStateDelivered)); err != nil {
				return DeliveryResult{}, err
			}
			return DeliveryResult{State: DeliveryStateDelivered, Attempts: res.Attempt, StatusCode: res.StatusCode}, nil
		}
		d.dropStaleSignals()
		review, err := setStatus(activities.SetDeliveryStatusInput{
			Status: DeliveryStateNeedsReview, Reason: failureReason(err), TargetGone: isErrorType(err, activities.ErrTypeGone),
		})
		if err != nil {
			return DeliveryResult{}, err
		}
		// Version 1 announces the review (delivery.needs_review, endpoint.disabled) by starting their deliveries.
		if workflow.GetVersion(ctx, reviewEventsChange, workflow.DefaultVersion, 1) == 1 {
			if _, err := startDeliveries(ctx, review.Deliveries, p); err != nil {
				return DeliveryResult{}, err
			}
		}
		if d.awaitDecision(ctx) == SkipSignal {
			if _, err := setStatus(activities.SetDeliveryStatusInput{Status: DeliveryStateSkipped, Reason: "skipped by operator"}); err != nil {
				return DeliveryResult{}, err
			}
			return DeliveryResult{State: DeliveryStateSkipped}, nil
		}
		if _, err := setStatus(activities.SetDeliveryStatusInput{Status: DeliveryStatePending, Reason: "replayed by operator"}); err != nil {
			return DeliveryResult{}, err
		}
	}
}

// dropStaleSignals discards replay or skip signals sent while the delivery was not in review, so a stray
// signal cannot decide a review that had not started yet.
func (d *delivery) dropStaleSignals() {
	for d.replay.ReceiveAsync(nil) {
	}
	for d.skip.ReceiveAsync(nil) {
	}
}

// awaitDecision blocks until an operator replays or skips; it returns the signal's name.
func (d *delivery) awaitDecision(ctx workflow.Context) string {
	var decision string
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(d.replay, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); decision = ReplaySignal })
	sel.AddReceive(d.skip, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); decision = SkipSignal })
	sel.Select(ctx)
	return decision
}

// reviewEventsChange marks the version of DeliveryWorkflow that starts the deliveries announcing a review.
const reviewEventsChange = "review-events"

// isErrorType reports whether the activity failed with an application error of the given type.
func isErrorType(err error, errType string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == errType
}

// failureReason is the last attempt's error text, without the SDK's wrapping.
func failureReason(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return "retry window exhausted: " + timeoutErr.Error()
	}
	return err.Error()
}

func maxDuration(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
