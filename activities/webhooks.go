package activities

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// refsOf names the deliveries a workflow must start.
func refsOf(ds []store.Delivery) []DeliveryRef {
	var refs []DeliveryRef
	for _, d := range ds {
		refs = append(refs, DeliveryRef{ID: d.ID, EndpointID: d.EndpointID, AffiliateID: d.AffiliateID})
	}
	return refs
}

// recordingSubscriptions are the webhook subscriptions as one recording transaction sees them, read once on
// first use: nothing in a recording changes a subscription, and a conversion plans up to one event per ledger
// entry, each of which read them all again before.
type recordingSubscriptions struct {
	tx   *gorm.DB
	subs []store.WebhookSubscription
	read bool
}

func (s *recordingSubscriptions) load() error {
	if s.read {
		return nil
	}
	var err error
	s.subs, err = store.AllSubscriptions(s.tx)
	s.read = err == nil
	return err
}

// plan plans ev's deliveries and returns the ones the workflow must start, like planWebhookEvent.
func (s *recordingSubscriptions) plan(ev eventplan.Event) ([]DeliveryRef, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	pending, err := store.PlanWebhookEventTo(s.tx, ev, s.subs)
	return refsOf(pending), err
}

// wanted says whether any subscription asked for one of the event types: when none did, planning them would
// deliver nothing, so the reads that build them are skipped.
func (s *recordingSubscriptions) wanted(eventTypes ...string) (bool, error) {
	if err := s.load(); err != nil {
		return false, err
	}
	for _, sub := range s.subs {
		for _, t := range eventTypes {
			if webhook.Subscribed(sub.Events, t) {
				return true, nil
			}
		}
	}
	return false, nil
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
// Its endpoint's or subscription's run of failures grows; at the configured limit, or on 410 Gone, the target is
// disabled and endpoint.disabled goes out; delivery.needs_review goes out (eventplan.ReviewEvents).
// It returns the deliveries to start and, when it disabled the target, why.
func (a *Activities) planReviewEvents(ctx context.Context, tx *store.Store, d store.Delivery, entersReview, gone bool) ([]DeliveryRef, string, error) {
	var target *eventplan.Target
	var failure *eventplan.Failure
	if entersReview {
		t, count, err := reviewTarget(ctx, tx, d)
		if err != nil {
			return nil, "", err
		}
		if t != nil {
			f := eventplan.CountFailure(*t, gone, a.Webhooks.AutoDisableAfter)
			// Written before planning, so a disabled subscription is planned nothing more but held deliveries.
			if err := count(t.ID, f.ConsecutiveFailures, f.Disable, f.Reason); err != nil {
				return nil, "", err
			}
			target, failure = t, &f
		}
	}
	review := eventplan.ReviewEvents(d, target, failure, time.Now().UTC())
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

// reviewTarget loads delivery d's endpoint or subscription and the query that counts its failures; nil when it
// was deleted.
func reviewTarget(ctx context.Context, tx *store.Store, d store.Delivery) (*eventplan.Target, func(string, int, bool, string) error, error) {
	var t eventplan.Target
	var count func(string, int, bool, string) error
	var err error
	if d.Kind == store.DeliveryKindWebhook {
		q := tx.Webhooks(ctx)
		var s store.WebhookSubscription
		s, err = q.Subscription(d.EndpointID)
		t, count = eventplan.SubscriptionTarget(s), q.CountFailure
	} else {
		q := tx.Affiliates(ctx)
		var ep store.PostbackEndpoint
		ep, err = q.PostbackEndpoint(d.EndpointID)
		t, count = eventplan.EndpointTarget(ep), q.CountEndpointFailure
	}
	if errors.Is(err, apperr.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return &t, count, nil
}
