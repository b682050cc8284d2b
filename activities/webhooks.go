package activities

import (
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/store"
)

// refsOf names the deliveries a workflow must start.
func refsOf(ds []store.Delivery) []DeliveryRef {
	var refs []DeliveryRef
	for _, d := range ds {
		refs = append(refs, DeliveryRef{ID: d.ID, EndpointID: d.EndpointID, AffiliateID: d.AffiliateID})
	}
	return refs
}

// planWebhookEvent plans ev's deliveries inside tx and returns the ones the workflow must start.
func planWebhookEvent(tx *gorm.DB, ev eventplan.Event) ([]DeliveryRef, error) {
	pending, err := store.PlanWebhookEvent(tx, ev)
	return refsOf(pending), err
}

// pendingDeliveries returns the pending deliveries of the given event occurrences.
func pendingDeliveries(tx *gorm.DB, eventKeys ...string) ([]DeliveryRef, error) {
	ds, err := store.PendingDeliveries(tx, eventKeys...)
	return refsOf(ds), err
}

// planReviewEvents runs when delivery d enters needs_review (entersReview false: a retry of the same step).
// A webhook subscription's run of failures grows; at the configured limit, or on 410 Gone, the subscription is
// disabled and endpoint.disabled goes to the others; delivery.needs_review goes out (eventplan.ReviewEvents).
// It returns the deliveries to start and, when it disabled the subscription, why.
func (a *Activities) planReviewEvents(tx *gorm.DB, d store.Delivery, entersReview, gone bool) ([]DeliveryRef, string, error) {
	var sub *store.WebhookSubscription
	var failure *eventplan.Failure
	if d.Kind == store.DeliveryKindWebhook && entersReview {
		var s store.WebhookSubscription
		err := tx.Where("id = ?", d.EndpointID).Take(&s).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, "", err
		}
		if err == nil {
			f := eventplan.CountFailure(s, gone, a.Webhooks.AutoDisableAfter)
			updates := map[string]any{"consecutive_failures": f.ConsecutiveFailures}
			if f.Disable {
				updates["enabled"], updates["disabled_reason"] = false, f.Reason
			}
			// Written before planning, so a disabled subscription is not sent its own endpoint.disabled.
			if err := tx.Model(&store.WebhookSubscription{}).Where("id = ?", s.ID).Updates(updates).Error; err != nil {
				return nil, "", err
			}
			sub, failure = &s, &f
		}
	}
	review := eventplan.ReviewEvents(d, sub, failure, time.Now().UTC())
	for _, ev := range []*eventplan.Event{review.EndpointOff, review.NeedsReview} {
		if ev == nil {
			continue
		}
		if _, err := store.PlanWebhookEvent(tx, *ev); err != nil {
			return nil, "", err
		}
	}
	// Read back rather than keep what was planned: a retry after the commit must start the same deliveries.
	refs, err := pendingDeliveries(tx, review.Keys...)
	return refs, review.DisabledReason, err
}
