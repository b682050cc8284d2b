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
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/signing"
	"github.com/affrelay/affrelay/store"
)

// Service manages integrations and authenticates their requests.
type Service struct {
	Store *store.Store
	// SecretMaxAge is secret.max_age: a signing secret ends that long after it is added, unless its
	// integration sets its own maximum age or an earlier expiry is asked for.
	SecretMaxAge time.Duration
}

// HashKey is how API keys are stored: a SHA-256, enough for a random 256-bit key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the integration, with its inbound security settings, and the key id an API key
// belongs to.
func (s *Service) Authenticate(ctx context.Context, key string) (store.Integration, string, error) {
	if key == "" {
		return store.Integration{}, "", apperr.ErrUnauthorized
	}
	hash := HashKey(key)
	k, err := s.Store.ReadOnly().Integrations(ctx).ActiveKeyByHash(hash)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return store.Integration{}, "", apperr.ErrUnauthorized
	}
	if err != nil {
		return store.Integration{}, "", err
	}
	// The lookup is by hash; the constant-time comparison guards against a store that matched loosely.
	if subtle.ConstantTimeCompare([]byte(k.KeyHash), []byte(hash)) != 1 {
		return store.Integration{}, "", apperr.ErrUnauthorized
	}
	return k.Integration, k.KeyID, nil
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
	err := s.Store.Integrations(ctx).Create(&in, store.APIKey{
		ID: store.NewID("key"), IntegrationID: in.ID, Label: "initial", Hash: HashKey(key), Prefix: key[:min(len(key), 8)],
	})
	return in, err
}

// ListIntegrations lists a page of integrations.
func (s *Service) ListIntegrations(ctx context.Context, p store.ListPage) ([]store.Integration, error) {
	return s.Store.Integrations(ctx).ListIntegrations(p)
}

// Integration loads one integration with its inbound security settings.
func (s *Service) Integration(ctx context.Context, id string) (store.Integration, error) {
	return s.Store.ReadOnly().Integrations(ctx).Get(id)
}

// SetInboundSecurity replaces an integration's inbound security settings; the caller has validated them.
func (s *Service) SetInboundSecurity(ctx context.Context, id string, sec store.InboundSecurity) (store.Integration, error) {
	in, err := s.Integration(ctx, id)
	if err != nil {
		return in, err
	}
	in.Security = sec
	return in, s.Store.Integrations(ctx).SetSecurity(in.ID, sec)
}

// CreateAPIKey adds an API key to an integration; the key is returned in clear this once.
func (s *Service) CreateAPIKey(ctx context.Context, integrationID, label string) (store.APIKey, string, error) {
	if _, err := s.Integration(ctx, integrationID); err != nil {
		return store.APIKey{}, "", err
	}
	key := NewAPIKey()
	k := store.APIKey{ID: store.NewID("key"), IntegrationID: integrationID, Label: label, Hash: HashKey(key), Prefix: key[:8]}
	return k, key, s.Store.Integrations(ctx).CreateKey(&k)
}

// APIKeys lists an integration's keys, revoked ones included, oldest first.
func (s *Service) APIKeys(ctx context.Context, integrationID string) ([]store.APIKey, error) {
	if _, err := s.Integration(ctx, integrationID); err != nil {
		return nil, err
	}
	return s.Store.Integrations(ctx).Keys(integrationID)
}

// RevokeAPIKey revokes a key; authentication refuses it from the next request on.
func (s *Service) RevokeAPIKey(ctx context.Context, integrationID, keyID string, now time.Time) (store.APIKey, error) {
	q := s.Store.Integrations(ctx)
	k, err := q.Key(integrationID, keyID)
	if err != nil || k.RevokedAt != nil {
		return k, err
	}
	now = now.UTC()
	k.RevokedAt = &now
	return k, q.RevokeKey(k.ID, now)
}

// AddSigningSecret adds a fresh secret, returned in clear this once. Older secrets keep working until they
// expire, so a sender rotates without downtime.
func (s *Service) AddSigningSecret(ctx context.Context, integrationID string, expiresAt *time.Time) (store.SigningSecret, error) {
	in, err := s.Integration(ctx, integrationID)
	if err != nil {
		return store.SigningSecret{}, err
	}
	// Times are stored in UTC: SQLite compares them as text. The maximum age is an expiry like any other.
	if maxAge := eventplan.SecretMaxAge(in.Security.SecretMaxAgeDays, s.SecretMaxAge); maxAge > 0 {
		if end := time.Now().Add(maxAge); expiresAt == nil || expiresAt.After(end) {
			expiresAt = &end
		}
	}
	if expiresAt != nil {
		utc := expiresAt.UTC()
		expiresAt = &utc
	}
	secret := signing.NewSecret()
	sec := store.SigningSecret{
		ID: store.NewID("sec"), IntegrationID: integrationID, Secret: secret,
		Prefix: secret[:len(signing.SecretPrefix)+4], ExpiresAt: expiresAt,
	}
	return sec, s.Store.Integrations(ctx).CreateSecret(&sec)
}

// SigningSecrets lists an integration's secrets, expired ones included, oldest first.
func (s *Service) SigningSecrets(ctx context.Context, integrationID string) ([]store.SigningSecret, error) {
	if _, err := s.Integration(ctx, integrationID); err != nil {
		return nil, err
	}
	return s.Store.Integrations(ctx).Secrets(integrationID)
}

// ExpireSigningSecret ends a secret now (if it was not already over).
func (s *Service) ExpireSigningSecret(ctx context.Context, integrationID, secretID string, now time.Time) (store.SigningSecret, error) {
	q := s.Store.Integrations(ctx)
	sec, err := q.Secret(integrationID, secretID)
	if err != nil || (sec.ExpiresAt != nil && !sec.ExpiresAt.After(now)) {
		return sec, err
	}
	now = now.UTC()
	sec.ExpiresAt = &now
	return sec, q.ExpireSecret(sec.ID, now)
}

// ActiveSecrets returns the secrets an inbound request of the integration may be signed with at now. Every
// postback asks, so it reads through the read pool, like the key lookup, instead of queueing behind the
// recording transactions on SQLite's one writing connection.
func (s *Service) ActiveSecrets(ctx context.Context, integrationID string, now time.Time) ([]string, error) {
	secrets, err := s.Store.ReadOnly().Integrations(ctx).ActiveSecrets(integrationID, now)
	if err != nil {
		return nil, fmt.Errorf("load signing secrets: %w", err)
	}
	return secrets, nil
}

// SetLandingHosts replaces the hosts tracking links may send visitors to for an integration's brand.
func (s *Service) SetLandingHosts(ctx context.Context, integrationID string, hosts []string) (store.Integration, error) {
	q := s.Store.Integrations(ctx)
	in, err := q.Get(integrationID)
	if err != nil {
		return in, err
	}
	in.LandingHosts = strings.Join(hosts, ",")
	return in, q.SetLandingHosts(in.ID, in.LandingHosts)
}

// SetPostbackMapping validates and stores an integration's dialect and idempotency key ("" keeps the current
// key) and returns the integration. Bad input is an apperr.FieldError naming the mapping's member; changing the
// key once events are recorded is apperr.ErrConflict.
func (s *Service) SetPostbackMapping(ctx context.Context, id string, m postback.Mapping, key string) (store.Integration, error) {
	in, err := s.Integration(ctx, id)
	if err != nil {
		return in, err
	}
	if key == "" {
		key = in.IdempotencyKey
	}
	if !slices.Contains(postback.IdempotencyKeys, key) {
		return in, apperr.Invalid("idempotency_key", fmt.Sprintf("%q is not one of %s", key, strings.Join(postback.IdempotencyKeys, ", ")))
	}
	resolved, err := m.Resolve()
	if err == nil {
		err = resolved.Validate(postback.RequiredFields(key))
	}
	var fe *postback.FieldError
	if errors.As(err, &fe) {
		return in, apperr.Invalid(fe.Field, fe.Message)
	}
	if err != nil {
		return in, err
	}
	stored := ""
	if !m.IsZero() {
		b, err := json.Marshal(m)
		if err != nil {
			return in, err
		}
		stored = string(b)
	}
	if err := s.Store.Integrations(ctx).SetPostbackMapping(id, stored, key); err != nil {
		return in, err
	}
	in.PostbackMapping, in.IdempotencyKey = stored, key
	return in, nil
}

// ResealSecrets re-encrypts every secret kept at rest under the current key and says how many values of each
// column it re-sealed (affrelay ops rotate-key, after the new key is configured as secrets.current_key).
func (s *Service) ResealSecrets(ctx context.Context) (store.ResealResult, error) {
	return s.Store.Reseal(ctx)
}
