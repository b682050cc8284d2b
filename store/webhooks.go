package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ActiveWebhookSecrets returns the secrets that sign a subscription's messages at now, newest first: the
// current one and, during a rotation's grace period, the previous ones.
func ActiveWebhookSecrets(db *gorm.DB, subscriptionID string, now time.Time) ([]string, error) {
	var secrets []WebhookSecret
	err := db.Where("subscription_id = ? AND (expires_at IS NULL OR expires_at > ?)", subscriptionID, now.UTC()).
		Order("created_at DESC, id").Find(&secrets).Error
	out := make([]string, len(secrets))
	for i, s := range secrets {
		out[i] = s.Secret
	}
	return out, err
}

// WebhookEvent is an event occurrence that plans its deliveries from the enabled subscriptions (eventplan.Event).
type WebhookEvent interface {
	Deliveries(subs []WebhookSubscription) ([]Delivery, error)
}

// PlanWebhookEvent creates the deliveries ev plans for the subscriptions (held for disabled ones), inside db:
// the transaction of the state change the event reports, so the event exists exactly when the change does.
// Delivery ids are derived from the event, so running it again creates nothing twice. It returns the
// deliveries still pending.
func PlanWebhookEvent(db *gorm.DB, ev WebhookEvent) ([]Delivery, error) {
	subs, err := AllSubscriptions(db)
	if err != nil {
		return nil, err
	}
	return PlanWebhookEventTo(db, ev, subs)
}

// AllSubscriptions returns every webhook subscription, in id order: what an event is planned to.
func AllSubscriptions(db *gorm.DB) ([]WebhookSubscription, error) {
	var subs []WebhookSubscription
	return subs, db.Order("id").Find(&subs).Error
}

// DeliveryPlanned reports whether the delivery with the id exists.
func DeliveryPlanned(db *gorm.DB, id string) (bool, error) {
	var n int64
	err := db.Model(&Delivery{}).Where("id = ?", id).Count(&n).Error
	return n > 0, err
}

// ReportSubscriptions lists the ids of the subscriptions that asked for eventType, in id order.
func ReportSubscriptions(db *gorm.DB, eventType string) ([]string, error) {
	var subs []WebhookSubscription
	if err := db.Select("id", "events").Order("id").Find(&subs).Error; err != nil {
		return nil, err
	}
	var ids []string
	for _, s := range subs {
		if slices.Contains(strings.Split(s.Events, ","), eventType) {
			ids = append(ids, s.ID)
		}
	}
	return ids, nil
}

// PlanWebhookEventTo plans the event's deliveries to the subscriptions subs only (those that asked for it),
// like PlanWebhookEvent.
func PlanWebhookEventTo(db *gorm.DB, ev WebhookEvent, subs []WebhookSubscription) ([]Delivery, error) {
	planned, err := ev.Deliveries(subs)
	if err != nil {
		return nil, err
	}
	var pending []Delivery
	for _, d := range planned {
		ok, err := InsertDelivery(db, &d)
		if err != nil {
			return nil, err
		}
		if ok {
			pending = append(pending, d)
		}
	}
	return pending, nil
}

// WebhookQueries are the typed queries on webhook subscriptions and their secrets, bound to one context.
type WebhookQueries struct{ db *gorm.DB }

// Webhooks returns the webhook-subscription queries for ctx.
func (s *Store) Webhooks(ctx context.Context) WebhookQueries {
	return WebhookQueries{db: s.DB.WithContext(ctx)}
}

// CreateSubscription stores a subscription with its first secret, in one transaction.
func (q WebhookQueries) CreateSubscription(sub *WebhookSubscription, secret WebhookSecret) error {
	return q.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(sub).Error; err != nil {
			return err
		}
		return tx.Create(&secret).Error
	})
}

// Subscriptions returns a page of subscriptions.
func (q WebhookQueries) Subscriptions(p ListPage) ([]WebhookSubscription, error) {
	var subs []WebhookSubscription
	return subs, p.apply(q.db).Find(&subs).Error
}

// Subscription loads one subscription; a missing one is apperr.ErrNotFound.
func (q WebhookQueries) Subscription(id string) (WebhookSubscription, error) {
	var sub WebhookSubscription
	err := q.db.Where("id = ?", id).Take(&sub).Error
	return sub, NotFound(err, "webhook subscription "+id)
}

// SaveSubscription writes a subscription's changeable fields, zero values included.
func (q WebhookQueries) SaveSubscription(sub *WebhookSubscription) error {
	return q.db.Model(sub).Select("url", "description", "events", "enabled", "disabled_reason", "consecutive_failures", "secret_max_age_days",
		"max_rps", "max_in_flight", "report_frequency", "report_time_zone", "updated_at").
		Updates(sub).Error
}

// DeleteSubscription removes a subscription and its secrets, in one transaction.
func (q WebhookQueries) DeleteSubscription(id string) error {
	return q.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("subscription_id = ?", id).Delete(&WebhookSecret{}).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", id).Delete(&WebhookSubscription{}).Error
	})
}

// RotateSecret makes next the subscription's current secret and lets the current ones expire at
// previousExpiresAt, in one transaction.
func (q WebhookQueries) RotateSecret(next WebhookSecret, previousExpiresAt time.Time) error {
	return q.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&WebhookSecret{}).Where("subscription_id = ? AND expires_at IS NULL", next.SubscriptionID).
			Update("expires_at", previousExpiresAt).Error; err != nil {
			return err
		}
		return tx.Create(&next).Error
	})
}

// ActiveSecrets returns the secrets that sign a subscription's messages at now (ActiveWebhookSecrets).
func (q WebhookQueries) ActiveSecrets(subscriptionID string, now time.Time) ([]string, error) {
	return ActiveWebhookSecrets(q.db, subscriptionID, now)
}

// CountFailure writes a subscription's run of failed deliveries and, when disable is set, disables it for
// the reason given.
func (q WebhookQueries) CountFailure(id string, consecutiveFailures int, disable bool, reason string) error {
	return countFailure(q.db.Model(&WebhookSubscription{}), id, consecutiveFailures, disable, reason)
}
