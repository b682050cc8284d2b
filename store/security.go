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
	// Seq, PrevHash and Hash chain the row (package auditchain); the store assigns them when it inserts the
	// row. Rows from before the chain have no Seq.
	Seq      *int64 `gorm:"uniqueIndex"`
	PrevHash string `gorm:"size:64"`
	Hash     string `gorm:"size:64"`
}

// AuditChainHead is the audit chain's last link (one row, ID 1); an insert locks it, so replicas append in turn.
type AuditChainHead struct {
	ID   int    `gorm:"primaryKey;autoIncrement:false"`
	Seq  int64  `gorm:"not null"`
	Hash string `gorm:"size:64;not null"`
}

// Audit checkpoint kinds.
const (
	AuditCheckpointDaily = "daily" // the head as the daily audit.checkpoint event sent it
	AuditCheckpointPrune = "prune" // the last pruned row: verification starts after it
)

// AuditCheckpoint is a point of the audit chain worth keeping: the hash of the row at Seq.
type AuditCheckpoint struct {
	ID        uint   `gorm:"primaryKey"`
	Seq       int64  `gorm:"not null;index"`
	Hash      string `gorm:"size:64;not null"`
	Kind      string `gorm:"size:16;not null"`
	CreatedAt time.Time
}
