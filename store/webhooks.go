package store

import (
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

// PlanWebhookEvent creates the deliveries ev plans for the enabled subscriptions, inside db: the transaction
// of the state change the event reports, so the event exists exactly when the change does. Delivery ids are
// derived from the event, so running it again creates nothing twice. It returns the deliveries still pending.
func PlanWebhookEvent(db *gorm.DB, ev WebhookEvent) ([]Delivery, error) {
	var subs []WebhookSubscription
	if err := db.Where("enabled = ?", true).Order("id").Find(&subs).Error; err != nil {
		return nil, err
	}
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
