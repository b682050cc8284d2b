package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
)

// IntegrationQueries are the typed queries on integrations, their API keys and inbound signing secrets,
// bound to one context.
type IntegrationQueries struct{ db *gorm.DB }

// Integrations returns the integration queries for ctx.
func (s *Store) Integrations(ctx context.Context) IntegrationQueries {
	return IntegrationQueries{db: s.DB.WithContext(ctx)}
}

// Create stores an integration with its first API key, in one transaction; a taken name is apperr.ErrConflict.
func (q IntegrationQueries) Create(in *Integration, key APIKey) error {
	return q.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(in).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return apperr.Conflict("an integration named %q exists", in.Name)
			}
			return err
		}
		return tx.Create(&key).Error
	})
}

// Get loads one integration; a missing one is apperr.ErrNotFound.
func (q IntegrationQueries) Get(id string) (Integration, error) {
	var in Integration
	err := q.db.Where("id = ?", id).Take(&in).Error
	return in, NotFound(err, "integration "+id)
}

// SetSecurity writes an integration's inbound security settings, false and zero values included.
func (q IntegrationQueries) SetSecurity(id string, sec InboundSecurity) error {
	return q.db.Model(&Integration{ID: id}).Updates(map[string]any{
		"sec_allow_query_token": sec.AllowQueryToken, "sec_signature_scheme": sec.SignatureScheme,
		"sec_signature_header": sec.SignatureHeader, "sec_tolerance_seconds": sec.ToleranceSeconds,
		"sec_ip_allowlist": sec.IPAllowlist, "sec_rate_limit_rps": sec.RateLimitRPS, "sec_rate_limit_burst": sec.RateLimitBurst,
		"sec_secret_max_age_days": sec.SecretMaxAgeDays,
	}).Error
}

// SetLandingHosts writes an integration's landing-host allowlist (comma-separated).
func (q IntegrationQueries) SetLandingHosts(id, hosts string) error {
	return q.db.Model(&Integration{ID: id}).Update("landing_hosts", hosts).Error
}

// WithLandingHostLike lists the integrations whose landing-host list contains host as a substring, by id;
// the caller checks for an exact entry.
func (q IntegrationQueries) WithLandingHostLike(host string) ([]Integration, error) {
	var out []Integration
	return out, q.db.Where("landing_hosts LIKE ?", "%"+host+"%").Order("id").Find(&out).Error
}

// KeyIntegration is an API key's id and hash with its integration.
type KeyIntegration struct {
	KeyID       string
	KeyHash     string
	Integration Integration `gorm:"embedded"`
}

// ActiveKeyByHash finds the unrevoked API key with the given hash and its integration, in one query (every
// API call makes it); a missing one is gorm.ErrRecordNotFound.
func (q IntegrationQueries) ActiveKeyByHash(hash string) (KeyIntegration, error) {
	var k KeyIntegration
	return k, q.db.Table("api_keys").Select("api_keys.id AS key_id, api_keys.hash AS key_hash, integrations.*").
		Joins("JOIN integrations ON integrations.id = api_keys.integration_id").
		Where("api_keys.hash = ? AND api_keys.revoked_at IS NULL", hash).Take(&k).Error
}

// CreateKey stores an API key.
func (q IntegrationQueries) CreateKey(k *APIKey) error { return q.db.Create(k).Error }

// Keys lists an integration's keys, revoked ones included, oldest first.
func (q IntegrationQueries) Keys(integrationID string) ([]APIKey, error) {
	var keys []APIKey
	return keys, q.db.Where("integration_id = ?", integrationID).Order("created_at, id").Find(&keys).Error
}

// Key loads one key of an integration; a missing one is apperr.ErrNotFound.
func (q IntegrationQueries) Key(integrationID, keyID string) (APIKey, error) {
	var k APIKey
	err := q.db.Where("id = ? AND integration_id = ?", keyID, integrationID).Take(&k).Error
	return k, NotFound(err, "API key "+keyID+" of integration "+integrationID)
}

// RevokeKey marks a key revoked at at.
func (q IntegrationQueries) RevokeKey(keyID string, at time.Time) error {
	return q.db.Model(&APIKey{ID: keyID}).Update("revoked_at", at.UTC()).Error
}

// CreateSecret stores an inbound signing secret.
func (q IntegrationQueries) CreateSecret(sec *SigningSecret) error { return q.db.Create(sec).Error }

// Secrets lists an integration's signing secrets, expired ones included, oldest first.
func (q IntegrationQueries) Secrets(integrationID string) ([]SigningSecret, error) {
	var secs []SigningSecret
	return secs, q.db.Where("integration_id = ?", integrationID).Order("created_at, id").Find(&secs).Error
}

// Secret loads one signing secret of an integration; a missing one is apperr.ErrNotFound.
func (q IntegrationQueries) Secret(integrationID, secretID string) (SigningSecret, error) {
	var sec SigningSecret
	err := q.db.Where("id = ? AND integration_id = ?", secretID, integrationID).Take(&sec).Error
	return sec, NotFound(err, "signing secret "+secretID+" of integration "+integrationID)
}

// ExpireSecret ends a signing secret at at.
func (q IntegrationQueries) ExpireSecret(secretID string, at time.Time) error {
	return q.db.Model(&SigningSecret{ID: secretID}).Update("expires_at", at.UTC()).Error
}

// ActiveSecrets returns the secrets an inbound request of the integration may be signed with at now, newest first.
func (q IntegrationQueries) ActiveSecrets(integrationID string, now time.Time) ([]string, error) {
	var rows []SigningSecret // read whole, so the sealed column opens
	err := q.db.Where("integration_id = ? AND (expires_at IS NULL OR expires_at > ?)", integrationID, now.UTC()).
		Order("created_at DESC").Find(&rows).Error
	secrets := make([]string, len(rows))
	for i, r := range rows {
		secrets[i] = r.Secret
	}
	return secrets, err
}

// SetPostbackMapping writes an integration's postback mapping and idempotency key. The key changes only while
// the integration has recorded no event: under another key a recorded event could be accepted a second time.
// Changing it later is apperr.ErrConflict.
func (q IntegrationQueries) SetPostbackMapping(id, mapping, key string) error {
	return q.db.Transaction(func(tx *gorm.DB) error {
		var in Integration
		if err := tx.Where("id = ?", id).Take(&in).Error; err != nil {
			return NotFound(err, "integration "+id)
		}
		if in.IdempotencyKey != key {
			var n int64
			if err := tx.Model(&Conversion{}).Where("integration_id = ?", id).Limit(1).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return apperr.Conflict("integration %s has recorded events under the idempotency key %s; it cannot change to %s", id, in.IdempotencyKey, key)
			}
		}
		return tx.Model(&Integration{ID: id}).Updates(map[string]any{"postback_mapping": mapping, "idempotency_key": key}).Error
	})
}
