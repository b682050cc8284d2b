package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// Delivery states, as shown in the DeliveryState search attribute and the deliveries table.
const (
	DeliveryStatePending     = store.DeliveryPending
	DeliveryStateDelivered   = store.DeliveryDelivered
	DeliveryStateNeedsReview = store.DeliveryNeedsReview
	DeliveryStateSkipped     = store.DeliverySkipped
	DeliveryStateHeld        = store.DeliveryHeld
	// DeliveryStateStuck shows (in the search attribute only) a delivery whose state could not be stored
	// after the bounded retries; the workflow keeps trying every stuckRetryEvery.
	DeliveryStateStuck = "stuck"
)

// Signals an operator sends to a delivery in needs_review (from the admin API, the CLI or the Temporal UI).
const (
	// RedeliverSignal starts a new attempt series from attempt 1.
	RedeliverSignal = "redeliver"
	// SkipSignal gives the delivery up for good.
	SkipSignal = "skip"
)

// replaySignal is RedeliverSignal's name until it was renamed (Temporal's own "replay" means something else).
// Deliveries still listen to it, so a workflow or a script that sends the old name keeps working; both channels
// are plain receives that issue no command, so listening to one more needs no GetVersion.
const replaySignal = "replay"

// DeliveryInput names the delivery and the retry policy it runs by.
type DeliveryInput struct {
	DeliveryID string
	Policy     retrypolicy.Policy
	// FirstAttempt is the inline first attempt the conversion workflow made, when it made one: the series
	// goes on from attempt 2 at the time the schedule gives, or straight to review after a permanent failure.
	FirstAttempt *activities.FirstAttemptResult `json:",omitempty"`
	// Refire starts a new run of a delivery that had ended (delivered, skipped, held): it goes back to pending
	// with the operator's reason, then a new attempt series from attempt 1 under the same delivery id and
	// Idempotency-Key. Histories from before re-fires have no Refire, so this path needs no GetVersion.
	Refire *Refire `json:",omitempty"`
}

// Refire is an operator's re-fire of a delivery.
type Refire struct {
	Reason string
}

// How a re-fire reaches a delivery, by its state (RefireAction).
const (
	// RefireBySignal: the delivery's workflow waits in needs_review; the redeliver signal starts the series.
	RefireBySignal = "signal"
	// RefireByStart: the delivery's workflow has ended; a new run (DeliveryInput.Refire) starts the series.
	RefireByStart = "start"
)

// RefireAction says how a delivery in status is re-fired; ok is false for a pending delivery, which is being
// attempted already.
func RefireAction(status string) (action string, ok bool) {
	switch status {
	case DeliveryStateNeedsReview:
		return RefireBySignal, true
	case DeliveryStateDelivered, DeliveryStateSkipped, store.DeliveryHeld:
		return RefireByStart, true
	}
	return "", false
}

// DeliveryResult is the final state of a delivery.
type DeliveryResult struct {
	State      string
	Attempts   int
	StatusCode int
}

// DeliveryWorkflow sends one outbound message with the configured retry schedule. When an attempt series
// fails for good it parks in needs_review and waits for redeliver or skip.
func DeliveryWorkflow(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	d := &delivery{in: in}
	d.setup(ctx)
	return d.run(ctx)
}

type delivery struct {
	in        DeliveryInput
	redeliver workflow.ReceiveChannel
	replay    workflow.ReceiveChannel // the old name of redeliver
	skip      workflow.ReceiveChannel
	// stuckEpisodes counts the times a state change could not be stored, to key each episode's events.
	stuckEpisodes int
}

func (d *delivery) setup(ctx workflow.Context) {
	d.redeliver = workflow.GetSignalChannel(ctx, RedeliverSignal)
	d.replay = workflow.GetSignalChannel(ctx, replaySignal)
	d.skip = workflow.GetSignalChannel(ctx, SkipSignal)
}

func (d *delivery) run(ctx workflow.Context) (DeliveryResult, error) {
	var a *activities.Activities
	p := d.in.Policy
	setStatus := func(in activities.SetDeliveryStatusInput) (activities.SetDeliveryStatusResult, error) {
		var res activities.SetDeliveryStatusResult
		if err := workflow.UpsertTypedSearchAttributes(ctx, DeliveryStateKey.ValueSet(in.Status)); err != nil {
			return res, err
		}
		in.DeliveryID = d.in.DeliveryID
		err := workflow.ExecuteLocalActivity(withDatabaseWrite(ctx), a.SetDeliveryStatus, in).Get(ctx, &res)
		if err == nil {
			return res, nil
		}
		v := workflow.GetVersion(ctx, surfaceStatusFailures, workflow.DefaultVersion, 2)
		if v == workflow.DefaultVersion {
			return res, err
		}
		return d.storeStuckState(ctx, in, err, v >= 2)
	}

	if r := d.in.Refire; r != nil {
		if _, err := setStatus(activities.SetDeliveryStatusInput{Status: DeliveryStatePending, Reason: "re-fired: " + r.Reason}); err != nil {
			return DeliveryResult{}, err
		}
	}
	// The first series may have begun inline: its failure, or its attempt count and start.
	prior, seriesStart, failed := d.continueFirstAttempt(ctx)
	for {
		if failed == nil {
			var res activities.AttemptDeliveryResult
			failed = workflow.ExecuteActivity(d.seriesOptions(ctx, prior, seriesStart), a.AttemptDelivery,
				activities.AttemptDeliveryInput{DeliveryID: d.in.DeliveryID, Policy: p, PriorAttempts: prior}).Get(ctx, &res)
			if failed == nil {
				if err := workflow.UpsertTypedSearchAttributes(ctx, DeliveryStateKey.ValueSet(DeliveryStateDelivered)); err != nil {
					return DeliveryResult{}, err
				}
				return DeliveryResult{State: DeliveryStateDelivered, Attempts: res.Attempt, StatusCode: res.StatusCode}, nil
			}
		}
		d.dropStaleSignals()
		// Its target was disabled meanwhile: the delivery is held, and re-enabling the target sends (a new run
		// with Refire) or discards it. Asked only on this path, so other histories are unchanged.
		if isErrorType(failed, activities.ErrTypeEndpointDisabled) && workflow.GetVersion(ctx, holdWhenDisabled, workflow.DefaultVersion, 1) == 1 {
			if _, err := setStatus(activities.SetDeliveryStatusInput{Status: DeliveryStateHeld, Reason: failureReason(failed)}); err != nil {
				return DeliveryResult{}, err
			}
			return DeliveryResult{State: DeliveryStateHeld}, nil
		}
		review, err := setStatus(activities.SetDeliveryStatusInput{
			Status: DeliveryStateNeedsReview, Reason: failureReason(failed), TargetGone: isErrorType(failed, activities.ErrTypeGone),
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
		if _, err := setStatus(activities.SetDeliveryStatusInput{Status: DeliveryStatePending, Reason: "redelivered by operator"}); err != nil {
			return DeliveryResult{}, err
		}
		// A redelivery is a new series from attempt 1, at once.
		prior, seriesStart, failed = 0, workflow.Now(ctx), nil
	}
}

// storeStuckState runs after storing a state change failed its bounded retries (err): it shows it
// (DeliveryState = "stuck", an error in the log), announces it when announce is set (version 2), and tries
// again every stuckRetryEvery until the state is stored. A missing delivery fails at once.
//
// The announcement (delivery.stuck, then delivery.unstuck once stored) is planned by an activity of its own,
// best effort: when the database is what fails, planning fails too, so it is tried again after each failed
// retry, and a stuck episode not yet announced when the store answers again is announced then, before its
// delivery.unstuck. Either is planned once per episode (its key names the run and the episode).
func (d *delivery) storeStuckState(ctx workflow.Context, in activities.SetDeliveryStatusInput, err error, announce bool) (activities.SetDeliveryStatusResult, error) {
	var a *activities.Activities
	var res activities.SetDeliveryStatusResult
	if err := workflow.UpsertTypedSearchAttributes(ctx, DeliveryStateKey.ValueSet(DeliveryStateStuck)); err != nil {
		return res, err
	}
	info := workflow.GetInfo(ctx).WorkflowExecution
	d.stuckEpisodes++
	episode := fmt.Sprintf("%s:%s:%d", info.ID, info.RunID, d.stuckEpisodes)
	data := webhook.DeliveryStuckData{
		DeliveryID: d.in.DeliveryID, WorkflowID: info.ID, State: in.Status, StuckSince: workflow.Now(ctx).UTC(),
	}
	announced := false
	for err != nil {
		if isErrorType(err, activities.ErrTypeNotFound) {
			return res, err
		}
		workflow.GetLogger(ctx).Error("delivery state cannot be stored; trying again later", "status", in.Status, "error", err)
		if announce && !announced {
			data.Reason = failureReason(err)
			announced = d.reportStuck(ctx, webhook.DeliveryStuck, episode, data)
		}
		if err := workflow.Sleep(ctx, stuckRetryEvery); err != nil {
			return res, err
		}
		err = workflow.ExecuteLocalActivity(withDatabaseWrite(ctx), a.SetDeliveryStatus, in).Get(ctx, &res)
	}
	if announce && (announced || d.reportStuck(ctx, webhook.DeliveryStuck, episode, data)) {
		unstuckAt := workflow.Now(ctx).UTC()
		data.UnstuckAt = &unstuckAt
		d.reportStuck(ctx, webhook.DeliveryUnstuck, episode, data)
	}
	return res, workflow.UpsertTypedSearchAttributes(ctx, DeliveryStateKey.ValueSet(in.Status))
}

// reportStuck plans delivery.stuck or delivery.unstuck and starts its deliveries; it says whether it did. A
// failure is logged, not returned: the search attribute and the log already show the state.
func (d *delivery) reportStuck(ctx workflow.Context, eventType, episode string, data webhook.DeliveryStuckData) bool {
	var a *activities.Activities
	var reported activities.OpsEventResult
	err := workflow.ExecuteActivity(withOpsEvent(ctx), a.ReportDeliveryStuck,
		activities.ReportDeliveryStuckInput{Type: eventType, Episode: episode, Data: data}).Get(ctx, &reported)
	if err == nil {
		_, err = startDeliveries(ctx, reported.Deliveries, reported.Policy)
	}
	if err != nil {
		workflow.GetLogger(ctx).Error("could not announce the stuck delivery", "event_type", eventType, "error", err)
		return false
	}
	return true
}

// continueFirstAttempt picks up after the conversion's inline first attempt. A permanent failure is returned
// as the series' failure; after a retryable one it waits until attempt 2 is due and returns one prior attempt
// and when the series began. Without an inline attempt the series begins now, at attempt 1.
func (d *delivery) continueFirstAttempt(ctx workflow.Context) (prior int, seriesStart time.Time, failed error) {
	first, p := d.in.FirstAttempt, d.in.Policy
	if first == nil {
		return 0, workflow.Now(ctx), nil
	}
	if first.ErrorType != activities.ErrTypeRetryable {
		return 0, first.StartedAt, temporal.NewNonRetryableApplicationError(first.Reason, first.ErrorType, nil)
	}
	if p.MaxAttempts <= 1 || first.NextDelay > p.Window {
		return 0, first.StartedAt, temporal.NewNonRetryableApplicationError(first.Reason, activities.ErrTypeRetryable, nil)
	}
	if wait := first.StartedAt.Add(first.NextDelay).Sub(workflow.Now(ctx)); wait > 0 {
		if err := workflow.Sleep(ctx, wait); err != nil {
			return 0, first.StartedAt, err
		}
	}
	return 1, first.StartedAt, nil
}

// seriesOptions runs one attempt series as one activity: at most MaxAttempts attempts (prior ones made
// elsewhere included) within Window of the series' start; NextRetryDelay on each failure sets the exact gap.
func (d *delivery) seriesOptions(ctx workflow.Context, prior int, seriesStart time.Time) workflow.Context {
	p := d.in.Policy
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ScheduleToCloseTimeout: p.Window - workflow.Now(ctx).Sub(seriesStart),
		StartToCloseTimeout:    attemptStartToClose(p),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        p.DelayAfter(prior + 1),
			BackoffCoefficient:     2,
			MaximumInterval:        maxDuration(p.Schedule),
			MaximumAttempts:        int32(p.MaxAttempts - prior),
			NonRetryableErrorTypes: []string{activities.ErrTypePermanent, activities.ErrTypeGone, activities.ErrTypeEndpointDisabled},
		},
	})
}

// legacyAttemptStartToClose bounds an attempt whose policy does not say its request's timeout (inputs recorded
// before Policy.AttemptTimeout existed): delivery.timeout's upper limit, and then some.
const legacyAttemptStartToClose = 2 * time.Minute

// attemptStartToClose is how long one attempt's activity may run: its request's timeout plus the time to load
// the delivery and store the attempt. It is also how long an attempt lost with a killed worker goes unnoticed,
// so it is sized to the work rather than generous (an attempt sends one request and needs no heartbeat).
func attemptStartToClose(p retrypolicy.Policy) time.Duration {
	if p.AttemptTimeout <= 0 {
		return legacyAttemptStartToClose
	}
	return p.AttemptTimeout + attemptStoreTime
}

// dropStaleSignals discards redeliver or skip signals sent while the delivery was not in review, so a stray
// signal cannot decide a review that had not started yet.
func (d *delivery) dropStaleSignals() {
	for _, ch := range []workflow.ReceiveChannel{d.redeliver, d.replay, d.skip} {
		for ch.ReceiveAsync(nil) {
		}
	}
}

// awaitDecision blocks until an operator redelivers or skips; it returns RedeliverSignal or SkipSignal.
func (d *delivery) awaitDecision(ctx workflow.Context) string {
	var decision string
	sel := workflow.NewSelector(ctx)
	for _, ch := range []workflow.ReceiveChannel{d.redeliver, d.replay} {
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); decision = RedeliverSignal })
	}
	sel.AddReceive(d.skip, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); decision = SkipSignal })
	sel.Select(ctx)
	return decision
}

// surfaceStatusFailures marks the version of DeliveryWorkflow that, when storing a state change fails after
// the bounded retries, shows DeliveryState = "stuck" and tries again later instead of retrying forever;
// version 2 also announces it (delivery.stuck, delivery.unstuck). It is asked only on that path.
// It is asked only on that path, so histories that never failed are unchanged.
const surfaceStatusFailures = "surface-status-failures"

// holdWhenDisabled marks the version of DeliveryWorkflow that holds a delivery whose target is disabled
// instead of parking it in needs_review.
const holdWhenDisabled = "hold-when-disabled"

// reviewEventsChange marks the version of DeliveryWorkflow that starts the deliveries announcing a review.
const reviewEventsChange = "review-events"

// isErrorType reports whether the activity failed with an application error of the given type.
func isErrorType(err error, errType string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == errType
}

// details reads the details of an activity's application error into v; false when it has none.
func details(err error, v any) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.HasDetails() && appErr.Details(v) == nil
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
