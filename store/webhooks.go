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
