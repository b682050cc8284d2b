package relay

import (
	"context"
	"fmt"
	"time"

	"github.com/affrelay/affrelay/signing"
	"github.com/affrelay/affrelay/store"
)

// Integration loads one integration with its inbound security settings.
func (s *Service) Integration(ctx context.Context, id string) (store.Integration, error) {
	var in store.Integration
	err := s.Store.DB.WithContext(ctx).Where("id = ?", id).Take(&in).Error
	return in, store.NotFound(err, "integration "+id)
}

// SetInboundSecurity replaces an integration's inbound security settings; the caller has validated them.
func (s *Service) SetInboundSecurity(ctx context.Context, id string, sec store.InboundSecurity) (store.Integration, error) {
	in, err := s.Integration(ctx, id)
	if err != nil {
		return in, err
	}
	in.Security = sec
	// A map, so that false and zero values are written too.
	err = s.Store.DB.WithContext(ctx).Model(&in).Updates(map[string]any{
		"sec_allow_query_token": sec.AllowQueryToken, "sec_signature_scheme": sec.SignatureScheme,
		"sec_signature_header": sec.SignatureHeader, "sec_tolerance_seconds": sec.ToleranceSeconds,
		"sec_ip_allowlist": sec.IPAllowlist, "sec_rate_limit_rps": sec.RateLimitRPS, "sec_rate_limit_burst": sec.RateLimitBurst,
	}).Error
	return in, err
}

// CreateAPIKey adds an API key to an integration; the key is returned in clear this once.
func (s *Service) CreateAPIKey(ctx context.Context, integrationID, label string) (store.APIKey, string, error) {
	if _, err := s.Integration(ctx, integrationID); err != nil {
		return store.APIKey{}, "", err
	}
	key := NewAPIKey()
	k := store.APIKey{ID: store.NewID("key"), IntegrationID: integrationID, Label: label, Hash: HashKey(key), Prefix: key[:8]}
	return k, key, s.Store.DB.WithContext(ctx).Create(&k).Error
}

// APIKeys lists an integration's keys, revoked ones included, oldest first.
func (s *Service) APIKeys(ctx context.Context, integrationID string) ([]store.APIKey, error) {
	if _, err := s.Integration(ctx, integrationID); err != nil {
		return nil, err
	}
	var keys []store.APIKey
	err := s.Store.DB.WithContext(ctx).Where("integration_id = ?", integrationID).Order("created_at, id").Find(&keys).Error
	return keys, err
}

// RevokeAPIKey revokes a key; authentication refuses it from the next request on.
func (s *Service) RevokeAPIKey(ctx context.Context, integrationID, keyID string, now time.Time) (store.APIKey, error) {
	var k store.APIKey
	db := s.Store.DB.WithContext(ctx)
	if err := db.Where("id = ? AND integration_id = ?", keyID, integrationID).Take(&k).Error; err != nil {
		return k, store.NotFound(err, "API key "+keyID+" of integration "+integrationID)
	}
	if k.RevokedAt != nil {
		return k, nil
	}
	now = now.UTC()
	k.RevokedAt = &now
	return k, db.Model(&k).Update("revoked_at", now).Error
}

// AddSigningSecret adds a fresh secret, returned in clear this once. Older secrets keep working until they
// expire, so a sender rotates without downtime.
func (s *Service) AddSigningSecret(ctx context.Context, integrationID string, expiresAt *time.Time) (store.SigningSecret, error) {
	if _, err := s.Integration(ctx, integrationID); err != nil {
		return store.SigningSecret{}, err
	}
	if expiresAt != nil {
		// Times are stored in UTC: SQLite compares them as text.
		utc := expiresAt.UTC()
		expiresAt = &utc
	}
	secret := signing.NewSecret()
	sec := store.SigningSecret{
		ID: store.NewID("sec"), IntegrationID: integrationID, Secret: secret,
		Prefix: secret[:len(signing.SecretPrefix)+4], ExpiresAt: expiresAt,
	}
	return sec, s.Store.DB.WithContext(ctx).Create(&sec).Error
}

// SigningSecrets lists an integration's secrets, expired ones included, oldest first.
func (s *Service) SigningSecrets(ctx context.Context, integrationID string) ([]store.SigningSecret, error) {
	if _, err := s.Integration(ctx, integrationID); err != nil {
		return nil, err
	}
	var secs []store.SigningSecret
	err := s.Store.DB.WithContext(ctx).Where("integration_id = ?", integrationID).Order("created_at, id").Find(&secs).Error
	return secs, err
}

// ExpireSigningSecret ends a secret now (if it was not already over).
func (s *Service) ExpireSigningSecret(ctx context.Context, integrationID, secretID string, now time.Time) (store.SigningSecret, error) {
	var sec store.SigningSecret
	db := s.Store.DB.WithContext(ctx)
	if err := db.Where("id = ? AND integration_id = ?", secretID, integrationID).Take(&sec).Error; err != nil {
		return sec, store.NotFound(err, "signing secret "+secretID+" of integration "+integrationID)
	}
	if sec.ExpiresAt != nil && !sec.ExpiresAt.After(now) {
		return sec, nil
	}
	now = now.UTC()
	sec.ExpiresAt = &now
	return sec, db.Model(&sec).Update("expires_at", now).Error
}

// ActiveSecrets returns the secrets an inbound request of the integration may be signed with at now.
func (s *Service) ActiveSecrets(ctx context.Context, integrationID string, now time.Time) ([]string, error) {
	var secrets []string
	err := s.Store.DB.WithContext(ctx).Model(&store.SigningSecret{}).
		Where("integration_id = ? AND (expires_at IS NULL OR expires_at > ?)", integrationID, now.UTC()).
		Order("created_at DESC").Pluck("secret", &secrets).Error
	if err != nil {
		return nil, fmt.Errorf("load signing secrets: %w", err)
	}
	return secrets, nil
}
