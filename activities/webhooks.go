package activities

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// WebhookEvent is one occurrence of an event, to be sent to every enabled subscription that asked for its type.
type WebhookEvent struct {
	// Key names this occurrence (webhook.EventKey); with a subscription id it makes the delivery id.
	Key  string
	Type string
	// At is the event's timestamp, rendered into the stored body so every retry sends the same bytes.
	At   time.Time
	Data any
	// CRMData is what CRM subscriptions get instead of Data; nil means the event has no CRM shape.
	CRMData any
	// Columns that let ops filter deliveries; empty when they do not apply.
	IntegrationID, EventID, AffiliateID, ConversionID string
}

// PlanWebhookEvent creates one delivery per enabled subscription of the event's type, inside tx: the
// transaction of the state change the event reports, so the event exists exactly when the change does.
// Delivery ids are derived from the event key, so running it again creates nothing twice. It returns the
// deliveries still pending, which the calling workflow starts as DeliveryWorkflow children.
func PlanWebhookEvent(tx *gorm.DB, ev WebhookEvent) ([]DeliveryRef, error) {
	var subs []store.WebhookSubscription
	if err := tx.Where("enabled = ?", true).Order("id").Find(&subs).Error; err != nil {
		return nil, err
	}
	var refs []DeliveryRef
	for _, sub := range subs {
		if !webhook.Subscribed(sub.Events, ev.Type) {
			continue
		}
		data := ev.Data
		if sub.Kind == webhook.KindCRM {
			if ev.CRMData == nil {
				continue
			}
			data = ev.CRMData
		}
		body, err := webhook.Marshal(ev.Type, ev.At, data)
		if err != nil {
			return nil, err
		}
		d := store.Delivery{
			ID: webhook.DeliveryID(ev.Key, sub.ID), Kind: store.DeliveryKindWebhook, EndpointID: sub.ID,
			EventType: ev.Type, EventKey: ev.Key, ConversionID: ev.ConversionID, IntegrationID: ev.IntegrationID,
			AffiliateID: ev.AffiliateID, EventID: ev.EventID, Method: "POST", URL: sub.URL, Body: body,
			Status: store.DeliveryPending,
		}
		pending, err := insertDelivery(tx, &d)
		if err != nil {
			return nil, err
		}
		if pending {
			refs = append(refs, DeliveryRef{ID: d.ID, EndpointID: sub.ID, AffiliateID: d.AffiliateID})
		}
	}
	return refs, nil
}

// insertDelivery creates the delivery unless its id exists, loads the stored row into d, and reports whether
// it is still pending: a delivery that already finished (a replayed workflow) is not sent again.
func insertDelivery(tx *gorm.DB, d *store.Delivery) (bool, error) {
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(d).Error; err != nil {
		return false, err
	}
	if err := tx.Where("id = ?", d.ID).Take(d).Error; err != nil {
		return false, err
	}
	return d.Status == store.DeliveryPending, nil
}

// pendingDeliveries returns the pending deliveries of the given event occurrences.
func pendingDeliveries(tx *gorm.DB, eventKeys ...string) ([]DeliveryRef, error) {
	var ds []store.Delivery
	if err := tx.Where("event_key IN ? AND status = ?", eventKeys, store.DeliveryPending).Order("id").Find(&ds).Error; err != nil {
		return nil, err
	}
	refs := make([]DeliveryRef, len(ds))
	for i, d := range ds {
		refs[i] = DeliveryRef{ID: d.ID, EndpointID: d.EndpointID, AffiliateID: d.AffiliateID}
	}
	return refs, nil
}

// planReviewEvents runs when delivery d enters needs_review (entersReview false: a retry of the same step).
// A webhook subscription's run of failures grows; at the configured limit, or on 410 Gone, the subscription is
// disabled and endpoint.disabled goes to the others. delivery.needs_review goes out for every delivery except
// one that itself carries delivery.needs_review, so a failing review receiver cannot start a loop.
// It returns the deliveries to start and, when it disabled the subscription, why.
func (a *Activities) planReviewEvents(tx *gorm.DB, d store.Delivery, entersReview, gone bool) ([]DeliveryRef, string, error) {
	now := time.Now().UTC()
	disabledKey := webhook.EventKey(webhook.EndpointDisabled, d.EndpointID+":"+d.ID)
	reviewKey := webhook.EventKey(webhook.DeliveryNeedsReview, d.ID+":"+strconv.Itoa(d.Attempts))
	disabledReason := ""
	if d.Kind == store.DeliveryKindWebhook && entersReview {
		var sub store.WebhookSubscription
		err := tx.Where("id = ?", d.EndpointID).Take(&sub).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, "", err
		}
		if err == nil {
			if disabledReason, err = a.countFailure(tx, sub, gone, disabledKey, now); err != nil {
				return nil, "", err
			}
		}
	}
	if d.EventType != webhook.DeliveryNeedsReview {
		_, err := PlanWebhookEvent(tx, WebhookEvent{
			Key: reviewKey, Type: webhook.DeliveryNeedsReview, At: now,
			IntegrationID: d.IntegrationID, EventID: d.EventID, AffiliateID: d.AffiliateID, ConversionID: d.ConversionID,
			Data: webhook.DeliveryReviewData{
				DeliveryID: d.ID, Kind: d.Kind, TargetID: d.EndpointID, EventType: d.EventType, EventID: d.EventID,
				AffiliateID: d.AffiliateID, Reason: d.StatusReason, Attempts: d.Attempts, LastStatusCode: d.LastStatusCode,
			},
		})
		if err != nil {
			return nil, "", err
		}
	}
	// Read back rather than keep what was planned: a retry after the commit must start the same deliveries.
	refs, err := pendingDeliveries(tx, reviewKey, disabledKey)
	return refs, disabledReason, err
}

// countFailure adds one to the subscription's run of failed deliveries and disables it at the limit; it
// returns why it disabled the subscription, or "".
func (a *Activities) countFailure(tx *gorm.DB, sub store.WebhookSubscription, gone bool, disabledKey string, now time.Time) (string, error) {
	sub.ConsecutiveFailures++
	updates := map[string]any{"consecutive_failures": sub.ConsecutiveFailures}
	disable := sub.Enabled && (gone || sub.ConsecutiveFailures >= a.Webhooks.AutoDisableAfter)
	reason := fmt.Sprintf("disabled after %d deliveries in a row needed review", sub.ConsecutiveFailures)
	if gone {
		reason = "receiver answered 410 Gone"
	}
	if disable {
		updates["enabled"], updates["disabled_reason"] = false, reason
	}
	if err := tx.Model(&store.WebhookSubscription{}).Where("id = ?", sub.ID).Updates(updates).Error; err != nil {
		return "", err
	}
	if !disable {
		return "", nil
	}
	_, err := PlanWebhookEvent(tx, WebhookEvent{
		Key: disabledKey, Type: webhook.EndpointDisabled, At: now,
		Data: webhook.EndpointDisabledData{SubscriptionID: sub.ID, URL: sub.URL, Reason: reason, ConsecutiveFailures: sub.ConsecutiveFailures},
	})
	return reason, err
}
