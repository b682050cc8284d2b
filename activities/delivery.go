package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// Error types of a failed attempt, as seen by the workflow.
const (
	ErrTypeRetryable        = "DeliveryRetryable"
	ErrTypePermanent        = "DeliveryPermanent"
	ErrTypeGone             = "DeliveryEndpointGone"
	ErrTypeEndpointDisabled = "DeliveryEndpointDisabled"
)

// AttemptDeliveryInput names the delivery to attempt.
type AttemptDeliveryInput struct {
	DeliveryID string
	Policy     retrypolicy.Policy
	// PriorAttempts is how many attempts of this series were made before this activity (the inline first
	// attempt), so that the activity's attempt n is the series' attempt PriorAttempts+n on the schedule.
	PriorAttempts int
}

// AttemptDeliveryResult describes the successful attempt.
type AttemptDeliveryResult struct {
	Attempt    int
	StatusCode int
}

// target is where a delivery goes and whether it may go there now.
type target struct {
	enabled        bool
	disabledReason string
	// failing: the target has a run of deliveries that ended in review, which a delivered one ends.
	failing bool
	// limits are the target's own limits (0: the defaults).
	limits  store.TargetLimits
	request outbound.Request
}

// attemptOutcome is what one attempt did. A disabled target is not attempted (number 0).
type attemptOutcome struct {
	number         int
	statusCode     int
	verdict        retrypolicy.Verdict
	started        time.Time
	disabledReason string
	// throttled: not attempted, the target is at its rate or in-flight limit.
	throttled bool
}

// AttemptDelivery sends the delivery once and stores the attempt. A retryable failure is returned as an
// application error carrying the schedule's next delay; Temporal's activity retry then runs the series.
func (a *Activities) AttemptDelivery(ctx context.Context, in AttemptDeliveryInput) (AttemptDeliveryResult, error) {
	d, err := a.loadDelivery(ctx, in.DeliveryID)
	if err != nil {
		return AttemptDeliveryResult{}, err
	}
	if d.Status == store.DeliveryDelivered {
		return AttemptDeliveryResult{Attempt: d.Attempts, StatusCode: d.LastStatusCode}, nil
	}
	o, err := a.attemptOnce(ctx, &d, 0)
	if err != nil {
		return AttemptDeliveryResult{}, err
	}
	switch {
	case o.throttled:
		// Nothing was sent, but Temporal counts it as an attempt of the series: it goes on by the schedule, as
		// an attempt to a receiver that hangs would.
		n := in.PriorAttempts + int(activity.GetInfo(ctx).Attempt)
		return AttemptDeliveryResult{}, temporal.NewApplicationErrorWithOptions("throttled: target "+d.EndpointID+" is at its rate or in-flight limit",
			ErrTypeRetryable, temporal.ApplicationErrorOptions{NextRetryDelay: in.Policy.NextDelay(n, retrypolicy.Verdict{})})
	case o.number == 0:
		return AttemptDeliveryResult{}, temporal.NewNonRetryableApplicationError(
			"endpoint "+d.EndpointID+" is disabled: "+o.disabledReason, ErrTypeEndpointDisabled, nil)
	case o.verdict.Outcome == retrypolicy.Delivered:
		return AttemptDeliveryResult{Attempt: o.number, StatusCode: o.statusCode}, nil
	case o.verdict.Outcome == retrypolicy.Gone:
		return AttemptDeliveryResult{}, temporal.NewNonRetryableApplicationError(o.verdict.Reason+"; endpoint disabled", ErrTypeGone, nil)
	case o.verdict.Outcome == retrypolicy.Permanent:
		return AttemptDeliveryResult{}, temporal.NewNonRetryableApplicationError(o.verdict.Reason, ErrTypePermanent, nil)
	default:
		// Returned unwrapped: Temporal reads NextRetryDelay only from the top-level error.
		n := in.PriorAttempts + int(activity.GetInfo(ctx).Attempt)
		return AttemptDeliveryResult{}, temporal.NewApplicationErrorWithOptions(o.verdict.Reason, ErrTypeRetryable,
			temporal.ApplicationErrorOptions{NextRetryDelay: in.Policy.NextDelay(n, o.verdict)})
	}
}

// FirstAttemptInput names a newly planned delivery whose first attempt runs inline, in the workflow task that
// recorded it, as a local activity; Timeout bounds the request so one slow receiver holds no one else up.
type FirstAttemptInput struct {
	DeliveryID string
	Policy     retrypolicy.Policy
	Timeout    time.Duration
}

// FirstAttemptResult is how the inline first attempt ended. A delivery that is not delivered continues in a
// DeliveryWorkflow, which takes this result to go on with attempt 2 on the schedule, or straight to review.
type FirstAttemptResult struct {
	// Delivered: the receiver accepted it (now or before).
	Delivered bool
	// Attempted is false when nothing was sent: the delivery was attempted before (a DeliveryWorkflow owns
	// it), or its target is disabled (ErrorType says so).
	Attempted  bool
	StartedAt  time.Time
	StatusCode int
	// ErrorType is the failure's kind (ErrTypeRetryable, ErrTypePermanent, ErrTypeGone, ErrTypeEndpointDisabled).
	ErrorType string
	Reason    string
	// NextDelay is the wait before attempt 2 after a retryable failure.
	NextDelay time.Duration
}

// FirstAttempt makes attempt 1 of a pending delivery that nothing has attempted yet, and stores it like every
// other attempt. It never sends a delivery twice: one delivered or attempted before is reported, not sent.
func (a *Activities) FirstAttempt(ctx context.Context, in FirstAttemptInput) (FirstAttemptResult, error) {
	d, err := a.loadDelivery(ctx, in.DeliveryID)
	if err != nil {
		return FirstAttemptResult{}, err
	}
	if d.Status == store.DeliveryDelivered {
		return FirstAttemptResult{Delivered: true, StatusCode: d.LastStatusCode}, nil
	}
	if d.Attempts > 0 || d.Status != store.DeliveryPending {
		return FirstAttemptResult{}, nil
	}
	o, err := a.attemptOnce(ctx, &d, in.Timeout)
	if err != nil {
		return FirstAttemptResult{}, err
	}
	if o.throttled {
		return FirstAttemptResult{}, nil // not attempted: its DeliveryWorkflow makes attempt 1, waiting for the target
	}
	res := FirstAttemptResult{Attempted: o.number > 0, StartedAt: o.started, StatusCode: o.statusCode, Reason: o.verdict.Reason}
	switch {
	case o.number == 0:
		res.ErrorType, res.Reason = ErrTypeEndpointDisabled, "endpoint "+d.EndpointID+" is disabled: "+o.disabledReason
	case o.verdict.Outcome == retrypolicy.Delivered:
		res.Delivered = true
	case o.verdict.Outcome == retrypolicy.Gone:
		res.ErrorType, res.Reason = ErrTypeGone, o.verdict.Reason+"; endpoint disabled"
	case o.verdict.Outcome == retrypolicy.Permanent:
		res.ErrorType = ErrTypePermanent
	default:
		res.ErrorType, res.NextDelay = ErrTypeRetryable, in.Policy.NextDelay(1, o.verdict)
	}
	return res, nil
}

func (a *Activities) loadDelivery(ctx context.Context, id string) (store.Delivery, error) {
	d, err := a.Store.Deliveries(ctx).Get(id)
	if err != nil {
		return d, notFound(fmt.Errorf("load delivery %s: %w", id, err), "delivery "+id)
	}
	return d, nil
}

// attemptOnce sends a delivery once (within timeout, when set) and stores the attempt. After a 410 Gone the
// endpoint or subscription is disabled when the delivery enters review, in the transaction that announces it.
func (a *Activities) attemptOnce(ctx context.Context, d *store.Delivery, timeout time.Duration) (attemptOutcome, error) {
	o := attemptOutcome{started: time.Now()}
	t, err := a.loadTarget(ctx, *d, o.started)
	if err != nil {
		return o, err
	}
	if !t.enabled {
		o.disabledReason = t.disabledReason
		a.Metrics.ObserveAttempt(d.Kind, "endpoint_disabled")
		return o, nil
	}
	// The inline first attempt never waits for a busy target (its DeliveryWorkflow does); a scheduled one waits
	// as long as its deadline allows.
	wait := a.throttleWait(ctx)
	if timeout > 0 {
		wait = 0
	}
	release, ok := a.targetGates().acquire(ctx, d.EndpointID, t.limits, wait)
	if !ok {
		o.throttled = true
		a.Metrics.ObserveAttempt(d.Kind, "throttled")
		return o, nil
	}
	defer release()
	sendCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		sendCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	d.URL = t.request.URL
	resp, sendErr := outbound.Send(sendCtx, a.HTTP, t.request)
	o.statusCode = resp.StatusCode
	o.verdict = retrypolicy.Classify(resp.StatusCode, resp.Header.Get("Retry-After"), sendErr, time.Now())
	attempt := store.DeliveryAttempt{
		DeliveryID: d.ID, StartedAt: o.started.UTC(), DurationMS: time.Since(o.started).Milliseconds(),
		StatusCode: resp.StatusCode, ResponseBody: resp.Body, URL: t.request.URL,
	}
	// Kept for disputes, as sent (a webhook's signature is an HMAC of this attempt: it does not reveal the secret).
	if sent, err := json.Marshal(t.request.SentHeader()); err == nil {
		attempt.RequestHeaders = string(sent)
	}
	if o.verdict.Outcome != retrypolicy.Delivered {
		attempt.Error = truncate(o.verdict.Reason, 1024)
	}
	if o.number, err = a.storeAttempt(ctx, d, attempt, o.verdict.Outcome == retrypolicy.Delivered, t.failing); err != nil {
		return o, err
	}
	a.Metrics.ObserveAttempt(d.Kind, o.verdict.Outcome.String())
	if o.verdict.Outcome == retrypolicy.Delivered {
		a.Metrics.ObserveDelivered(d.Kind, time.Since(d.CreatedAt))
	}
	activity.GetLogger(ctx).Info("delivery attempt", "delivery_id", d.ID, "kind", d.Kind, "attempt", o.number, "status_code", resp.StatusCode,
		"outcome", o.verdict.Outcome.String(), "duration_ms", attempt.DurationMS)
	return o, nil
}

// loadTarget builds the request of one attempt. A postback goes as rendered when planned; a webhook goes to the
// subscription's current URL, signed at send time with every secret active now.
func (a *Activities) loadTarget(ctx context.Context, d store.Delivery, now time.Time) (target, error) {
	if d.Kind != store.DeliveryKindWebhook {
		ep, err := a.Store.Affiliates(ctx).PostbackEndpoint(d.EndpointID)
		if err != nil {
			return target{}, notFound(fmt.Errorf("load endpoint %s: %w", d.EndpointID, err), "postback endpoint "+d.EndpointID)
		}
		h := http.Header{"Idempotency-Key": {d.ID}}
		if d.Body != "" {
			h.Set("Content-Type", "application/json")
		}
		return target{enabled: ep.Enabled, disabledReason: ep.DisabledReason, failing: ep.ConsecutiveFailures > 0, limits: ep.Limits,
			request: outbound.Request{Method: d.Method, URL: d.URL, Body: d.Body, Header: h}}, nil
	}
	subs := a.Store.Webhooks(ctx)
	sub, err := subs.Subscription(d.EndpointID)
	if errors.Is(err, apperr.ErrNotFound) {
		// Not held (nothing can re-enable it): the delivery goes to review.
		return target{}, temporal.NewNonRetryableApplicationError("subscription "+d.EndpointID+" was deleted", ErrTypePermanent, nil)
	}
	if err != nil {
		return target{}, fmt.Errorf("load subscription %s: %w", d.EndpointID, err)
	}
	secrets, err := subs.ActiveSecrets(sub.ID, now)
	if err != nil {
		return target{}, err
	}
	h, err := outbound.WebhookHeaders(secrets, d.ID, now, d.Body)
	if err != nil {
		return target{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePermanent, nil)
	}
	return target{enabled: sub.Enabled, disabledReason: sub.DisabledReason, failing: sub.ConsecutiveFailures > 0, limits: sub.Limits,
		request: outbound.Request{Method: http.MethodPost, URL: sub.URL, Body: d.Body, Header: h}}, nil
}

// storeAttempt writes the attempt and the delivery's new counters in one transaction; it returns the attempt number.
// A delivered one also ends its target's run of failures, when it has one.
func (a *Activities) storeAttempt(ctx context.Context, d *store.Delivery, attempt store.DeliveryAttempt, delivered, targetFailing bool) (int, error) {
	number, err := a.Store.Deliveries(ctx).StoreAttempt(*d, attempt, delivered, targetFailing, time.Now().UTC())
	if err != nil {
		return 0, fmt.Errorf("store attempt of %s: %w", d.ID, err)
	}
	return number, nil
}

// SetDeliveryStatusInput moves a delivery to a new state.
type SetDeliveryStatusInput struct {
	DeliveryID string
	Status     string
	Reason     string
	// TargetGone says the receiver answered 410 Gone: a webhook subscription is disabled at once.
	TargetGone bool
}

// SetDeliveryStatusResult lists the deliveries the change planned (delivery.needs_review, endpoint.disabled)
// that the workflow must start.
type SetDeliveryStatusResult struct {
	Deliveries []DeliveryRef
}

// SetDeliveryStatus records a state change decided by the delivery workflow (needs_review, pending, skipped).
// Entering needs_review also counts against a webhook subscription, may disable it, and plans the events that
// announce both, all in one transaction; running it again plans nothing twice.
func (a *Activities) SetDeliveryStatus(ctx context.Context, in SetDeliveryStatusInput) (SetDeliveryStatusResult, error) {
	var res SetDeliveryStatusResult
	var disabledReason, targetID string
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		q := tx.Deliveries(ctx)
		d, err := q.Get(in.DeliveryID)
		if err != nil {
			return notFound(err, "delivery "+in.DeliveryID)
		}
		targetID = d.EndpointID
		entersReview := in.Status == store.DeliveryNeedsReview && d.Status != store.DeliveryNeedsReview
		if err := q.SetStatus(in.DeliveryID, in.Status, truncate(in.Reason, 512), time.Now().UTC()); err != nil {
			return err
		}
		if in.Status != store.DeliveryNeedsReview {
			return nil
		}
		d.Status, d.StatusReason = in.Status, truncate(in.Reason, 512)
		res.Deliveries, disabledReason, err = a.planReviewEvents(ctx, tx, d, entersReview, in.TargetGone)
		return err
	})
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return SetDeliveryStatusResult{}, err // returned as it is, so Temporal sees that it is non-retryable
	}
	if err != nil {
		return SetDeliveryStatusResult{}, fmt.Errorf("set delivery %s %s: %w", in.DeliveryID, in.Status, err)
	}
	if in.Status == store.DeliveryNeedsReview {
		// The alert: ops find these in the log, the Temporal UI (DeliveryState) and /v1/admin/deliveries.
		activity.GetLogger(ctx).Error("delivery needs review", "delivery_id", in.DeliveryID, "reason", in.Reason)
	}
	if disabledReason != "" {
		activity.GetLogger(ctx).Warn("delivery target disabled", "target_id", targetID, "delivery_id", in.DeliveryID, "reason", disabledReason)
	}
	return res, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "\uFFFD")
}
