// Package integrations is the application service for operator integrations: API keys, inbound signing
// secrets, security settings (IP allowlist, rate limits) and landing-host allowlists.
package integrations

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/signing"
	"github.com/affrelay/affrelay/store"
)

// Service manages integrations and authenticates their requests.
type Service struct {
	Store *store.Store
}

// HashKey is how API keys are stored: a SHA-256, enough for a random 256-bit key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the integration and key id an API key belongs to.
func (s *Service) Authenticate(ctx context.Context, key string) (integrationID, keyID string, err error) {
	if key == "" {
		return "", "", apperr.ErrUnauthorized
	}
	hash := HashKey(key)
	var k store.APIKey
	err = s.Store.DB.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", hash).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", "", apperr.ErrUnauthorized
	}
	if err != nil {
		return "", "", err
	}
	// The lookup is by hash; the constant-time comparison guards against a store that matched loosely.
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 {
		return "", "", apperr.ErrUnauthorized
	}
	return k.IntegrationID, k.ID, nil
}

// NewAPIKey returns a fresh random API key.
func NewAPIKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "ak_" + base64.RawURLEncoding.EncodeToString(b)
}

// CreateIntegration creates an integration with its first API key, returned in clear this once.
func (s *Service) CreateIntegration(ctx context.Context, name string) (store.Integration, string, error) {
	key := NewAPIKey()
	in, err := s.CreateIntegrationWithKey(ctx, name, key)
	return in, key, err
}

// CreateIntegrationWithKey creates an integration whose first API key is given (the dev demo uses a fixed one).
func (s *Service) CreateIntegrationWithKey(ctx context.Context, name, key string) (store.Integration, error) {
	in := store.Integration{ID: store.NewID("int"), Name: name}
	err := s.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&in).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return apperr.Conflict("an integration named %q exists", name)
			}
			return err
		}
		return tx.Create(&store.APIKey{
			ID: store.NewID("key"), IntegrationID: in.ID, Label: "initial", Hash: HashKey(key), Prefix: key[:min(len(key), 8)],
		}).Error
	})
	return in, err
}

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

// SetLandingHosts replaces the hosts tracking links may send visitors to for an integration's brand.
func (s *Service) SetLandingHosts(ctx context.Context, integrationID string, hosts []string) (store.Integration, error) {
	var in store.Integration
	db := s.Store.DB.WithContext(ctx)
	if err := db.Where("id = ?", integrationID).Take(&in).Error; err != nil {
		return in, store.NotFound(err, "integration "+integrationID)
	}
	in.LandingHosts = strings.Join(hosts, ",")
	return in, db.Model(&in).Update("landing_hosts", in.LandingHosts).Error
}
