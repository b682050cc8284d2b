package activities

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
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
func (a *Activities) planReviewEvents(ctx context.Context, tx *store.Store, d store.Delivery, entersReview, gone bool) ([]DeliveryRef, string, error) {
	var sub *store.WebhookSubscription
	var failure *eventplan.Failure
	if d.Kind == store.DeliveryKindWebhook && entersReview {
		q := tx.Webhooks(ctx)
		s, err := q.Subscription(d.EndpointID)
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return nil, "", err
		}
		if err == nil {
			f := eventplan.CountFailure(s, gone, a.Webhooks.AutoDisableAfter)
			// Written before planning, so a disabled subscription is not sent its own endpoint.disabled.
			if err := q.CountFailure(s.ID, f.ConsecutiveFailures, f.Disable, f.Reason); err != nil {
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
		if _, err := store.PlanWebhookEvent(tx.DB, *ev); err != nil {
			return nil, "", err
		}
	}
	// Read back rather than keep what was planned: a retry after the commit must start the same deliveries.
	refs, err := pendingDeliveries(tx.DB, review.Keys...)
	return refs, review.DisabledReason, err
}
