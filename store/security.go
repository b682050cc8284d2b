package store

import "time"

// Signature schemes an integration may require of inbound requests.
const (
	SchemeStandardWebhooks = "standard-webhooks"
	SchemeHMACSHA256       = "hmac-sha256"
)

// InboundSecurity is an integration's settings for inbound requests. Zero values mean the configured defaults.
type InboundSecurity struct {
	// AllowQueryToken accepts the API key as a `token` query parameter, for GET-only senders.
	AllowQueryToken bool `gorm:"not null;default:false"`
	// SignatureScheme is SchemeStandardWebhooks (the default) or SchemeHMACSHA256; it applies once a secret exists.
	SignatureScheme string `gorm:"size:32"`
	// SignatureHeader carries the hmac-sha256 signature (default X-Signature).
	SignatureHeader string `gorm:"size:64"`
	// ToleranceSeconds bounds the signed timestamp's distance from now.
	ToleranceSeconds int
	// IPAllowlist is a comma-separated list of CIDRs; empty allows every address.
	IPAllowlist string `gorm:"size:4096"`
	// RateLimitRPS and RateLimitBurst size each API key's token bucket.
	RateLimitRPS   float64
	RateLimitBurst int
	// SecretMaxAgeDays bounds the age of the integration's signing secrets; 0 means secret.max_age.
	SecretMaxAgeDays int `gorm:"not null;default:0"`
}

// SigningSecret is a secret inbound requests are signed with. It is sealed at rest (verifying an HMAC needs the
// key itself, so a hash would not do); it is returned once, at creation, and never logged.
type SigningSecret struct {
	ID            string `gorm:"primaryKey;size:40"`
	IntegrationID string `gorm:"size:40;not null;index"`
	Secret        string `gorm:"type:text;not null;serializer:sealed"`
	Prefix        string `gorm:"size:16"` // shown to people to tell secrets apart
	ExpiresAt     *time.Time
	// ExpiringAnnouncedAt is when secret.expiring went out for it (once per secret).
	ExpiringAnnouncedAt *time.Time
	CreatedAt           time.Time
}

// AuditRecord is one API call. It never holds a key, token, secret, signature or query string.
type AuditRecord struct {
	ID            uint      `gorm:"primaryKey"`
	Time          time.Time `gorm:"not null;index"`
	RequestID     string    `gorm:"size:40;not null;index"`
	IntegrationID string    `gorm:"size:40;index"`
	KeyID         string    `gorm:"size:40"`
	Method        string    `gorm:"size:8;not null"`
	Path          string    `gorm:"size:512;not null"`
	Status        int       `gorm:"not null;index"`
	LatencyMicros int64
	ClientIP      string `gorm:"size:64"`
}
