package activities

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// MaxStoredResponseBytes is how much of a receiver's response body an attempt keeps.
const MaxStoredResponseBytes = 4 << 10

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
}

// AttemptDeliveryResult describes the successful attempt.
type AttemptDeliveryResult struct {
	Attempt    int
	StatusCode int
}

// AttemptDelivery sends the delivery once and stores the attempt. A retryable failure is returned as an
// application error carrying the schedule's next delay; Temporal's activity retry then runs the series.
func (a *Activities) AttemptDelivery(ctx context.Context, in AttemptDeliveryInput) (AttemptDeliveryResult, error) {
	db := a.Store.DB.WithContext(ctx)
	var d store.Delivery
	if err := db.Where("id = ?", in.DeliveryID).Take(&d).Error; err != nil {
		return AttemptDeliveryResult{}, fmt.Errorf("load delivery %s: %w", in.DeliveryID, err)
	}
	if d.Status == store.DeliveryDelivered {
		return AttemptDeliveryResult{Attempt: d.Attempts, StatusCode: d.LastStatusCode}, nil
	}
	var ep store.PostbackEndpoint
	if err := db.Where("id = ?", d.EndpointID).Take(&ep).Error; err != nil {
		return AttemptDeliveryResult{}, fmt.Errorf("load endpoint %s: %w", d.EndpointID, err)
	}
	if !ep.Enabled {
		return AttemptDeliveryResult{}, temporal.NewNonRetryableApplicationError(
			"endpoint "+ep.ID+" is disabled: "+ep.DisabledReason, ErrTypeEndpointDisabled, nil)
	}

	started := time.Now()
	status, header, body, sendErr := a.send(ctx, d)
	verdict := retrypolicy.Classify(status, header.Get("Retry-After"), sendErr, time.Now())
	attempt := store.DeliveryAttempt{
		DeliveryID: d.ID, StartedAt: started.UTC(), DurationMS: time.Since(started).Milliseconds(),
		StatusCode: status, ResponseBody: body,
	}
	if verdict.Outcome != retrypolicy.Delivered {
		attempt.Error = truncate(verdict.Reason, 1024)
	}
	number, err := a.storeAttempt(ctx, &d, attempt, verdict.Outcome == retrypolicy.Delivered)
	if err != nil {
		return AttemptDeliveryResult{}, err
	}
	a.Logger.Info("delivery attempt", "delivery_id", d.ID, "attempt", number, "status_code", status,
		"outcome", verdict.Outcome.String(), "duration_ms", attempt.DurationMS)

	switch verdict.Outcome {
	case retrypolicy.Delivered:
		return AttemptDeliveryResult{Attempt: number, StatusCode: status}, nil
	case retrypolicy.Gone:
		if err := db.Model(&store.PostbackEndpoint{}).Where("id = ?", ep.ID).
			Updates(map[string]any{"enabled": false, "disabled_reason": "receiver answered 410 Gone"}).Error; err != nil {
			return AttemptDeliveryResult{}, err
		}
		a.Logger.Warn("endpoint disabled: receiver answered 410 Gone", "endpoint_id", ep.ID, "affiliate_id", ep.AffiliateID)
		return AttemptDeliveryResult{}, temporal.NewNonRetryableApplicationError(verdict.Reason+"; endpoint disabled", ErrTypeGone, nil)
	case retrypolicy.Permanent:
		return AttemptDeliveryResult{}, temporal.NewNonRetryableApplicationError(verdict.Reason, ErrTypePermanent, nil)
	default:
		// Returned unwrapped: Temporal reads NextRetryDelay only from the top-level error.
		return AttemptDeliveryResult{}, temporal.NewApplicationErrorWithOptions(verdict.Reason, ErrTypeRetryable,
			temporal.ApplicationErrorOptions{NextRetryDelay: in.Policy.NextDelay(int(activity.GetInfo(ctx).Attempt), verdict)})
	}
}

// send performs the HTTP request; status is 0 when no response arrived.
func (a *Activities) send(ctx context.Context, d store.Delivery) (int, http.Header, string, error) {
	var body io.Reader
	if d.Body != "" {
		body = strings.NewReader(d.Body)
	}
	req, err := http.NewRequestWithContext(ctx, d.Method, d.URL, body)
	if err != nil {
		return 0, http.Header{}, "", err
	}
	req.Header.Set("User-Agent", "affrelay/1")
	req.Header.Set("Idempotency-Key", d.ID)
	if d.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return 0, http.Header{}, "", err
	}
	defer resp.Body.Close()
	// A body cut short by the receiver still tells us what it answered; the status code decides.
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, MaxStoredResponseBytes))
	// Drain a little more so the keep-alive connection can be reused; give up on huge bodies.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	return resp.StatusCode, resp.Header, validUTF8(buf), nil
}

// storeAttempt writes the attempt and the delivery's new counters in one transaction; it returns the attempt number.
func (a *Activities) storeAttempt(ctx context.Context, d *store.Delivery, attempt store.DeliveryAttempt, delivered bool) (int, error) {
	err := a.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var current store.Delivery
		if err := tx.Where("id = ?", d.ID).Take(&current).Error; err != nil {
			return err
		}
		attempt.Number = current.Attempts + 1
		if err := tx.Create(&attempt).Error; err != nil {
			return err
		}
		updates := map[string]any{"attempts": attempt.Number, "last_status_code": attempt.StatusCode, "updated_at": time.Now().UTC()}
		if delivered {
			updates["status"] = store.DeliveryDelivered
			updates["status_reason"] = ""
			updates["delivered_at"] = attempt.StartedAt
		}
		return tx.Model(&store.Delivery{}).Where("id = ?", d.ID).Updates(updates).Error
	})
	if err != nil {
		return 0, fmt.Errorf("store attempt of %s: %w", d.ID, err)
	}
	return attempt.Number, nil
}

// SetDeliveryStatusInput moves a delivery to a new state.
type SetDeliveryStatusInput struct {
	DeliveryID string
	Status     string
	Reason     string
}

// SetDeliveryStatus records a state change decided by the delivery workflow (needs_review, pending, skipped).
func (a *Activities) SetDeliveryStatus(ctx context.Context, in SetDeliveryStatusInput) error {
	err := a.Store.DB.WithContext(ctx).Model(&store.Delivery{}).Where("id = ?", in.DeliveryID).
		Updates(map[string]any{"status": in.Status, "status_reason": truncate(in.Reason, 512), "updated_at": time.Now().UTC()}).Error
	if err != nil {
		return err
	}
	if in.Status == store.DeliveryNeedsReview {
		// The alert: ops find these in the log, the Temporal UI (DeliveryState) and /v1/admin/deliveries.
		a.Logger.Error("delivery needs review", "delivery_id", in.DeliveryID, "reason", in.Reason)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return validUTF8([]byte(s[:n]))
}

// validUTF8 keeps a response body storable in a text column whatever bytes the receiver sent.
func validUTF8(b []byte) string {
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
