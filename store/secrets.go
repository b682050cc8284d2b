package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Kinds of secret, as AgingSecret and secret.expiring name them.
const (
	SecretKindSigning = "signing_secret"
	SecretKindWebhook = "webhook_secret"
)

// SecretQueries are the typed queries on the age of secrets, both kinds, bound to one context.
type SecretQueries struct{ db *gorm.DB }

// Secrets returns the secret-age queries for ctx.
func (s *Store) Secrets(ctx context.Context) SecretQueries {
	return SecretQueries{db: s.DB.WithContext(ctx)}
}

// AgingSecret is a secret whose secret.expiring has not gone out, with its owner (integration or
// subscription) and the owner's own maximum age in days (0: the configured one).
type AgingSecret struct {
	Kind          string
	ID            string
	Prefix        string
	OwnerID       string
	CreatedAt     time.Time
	ExpiresAt     *time.Time
	OwnMaxAgeDays int
}

// Unannounced lists the signing secrets not yet ended at now and the current webhook secrets (a rotated-out one
// has an expiry: its grace, not its age) whose secret.expiring has not gone out. Both tables hold a few rows
// per integration or subscription.
func (q SecretQueries) Unannounced(now time.Time) ([]AgingSecret, error) {
	var signing, hooks []AgingSecret
	err := q.db.Table("signing_secrets AS s").Joins("JOIN integrations AS i ON i.id = s.integration_id").
		Select("? AS kind, s.id, s.prefix, s.integration_id AS owner_id, s.created_at, s.expires_at, i.sec_secret_max_age_days AS own_max_age_days", SecretKindSigning).
		Where("s.expiring_announced_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > ?)", now.UTC()).Order("s.id").Scan(&signing).Error
	if err != nil {
		return nil, err
	}
	err = q.db.Table("webhook_secrets AS s").Joins("JOIN webhook_subscriptions AS w ON w.id = s.subscription_id").
		Select("? AS kind, s.id, '' AS prefix, s.subscription_id AS owner_id, s.created_at, s.expires_at, w.secret_max_age_days AS own_max_age_days", SecretKindWebhook).
		Where("s.expiring_announced_at IS NULL AND s.expires_at IS NULL").Order("s.id").Scan(&hooks).Error
	return append(signing, hooks...), err
}

// AnnounceExpiring marks the secret's secret.expiring as gone out at at and plans ev, in one transaction, and
// returns its pending deliveries. Whoever marks it first plans it (marked true): another process finds it
// marked and plans nothing.
func (q SecretQueries) AnnounceExpiring(kind, id string, at time.Time, ev WebhookEvent) (pending []Delivery, marked bool, err error) {
	var model any = &SigningSecret{}
	if kind == SecretKindWebhook {
		model = &WebhookSecret{}
	}
	err = q.db.Transaction(func(tx *gorm.DB) error {
		res := tx.Model(model).Where("id = ? AND expiring_announced_at IS NULL", id).Update("expiring_announced_at", at.UTC())
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		marked = true
		var err error
		pending, err = PlanWebhookEvent(tx, ev)
		return err
	})
	return pending, marked && err == nil, err
}
