package store

import "time"

// Integration is one operator platform that sends postbacks.
type Integration struct {
	ID        string          `gorm:"primaryKey;size:40"`
	Name      string          `gorm:"size:128;not null;uniqueIndex"`
	Security  InboundSecurity `gorm:"embedded;embeddedPrefix:sec_"`
	CreatedAt time.Time
}

// APIKey authenticates an integration. Only the SHA-256 of the key is stored.
type APIKey struct {
	ID            string `gorm:"primaryKey;size:40"`
	IntegrationID string `gorm:"size:40;not null;index"`
	Label         string `gorm:"size:128"`
	Hash          string `gorm:"size:64;not null;uniqueIndex"`
	Prefix        string `gorm:"size:16"` // shown to people to tell keys apart; too short to use
	RevokedAt     *time.Time
	CreatedAt     time.Time
}

// Affiliate is a partner who earns commission.
type Affiliate struct {
	ID        string `gorm:"primaryKey;size:40"`
	Name      string `gorm:"size:200;not null"`
	Email     string `gorm:"size:320"`
	CreatedAt time.Time
}

// Plan is an affiliate's commission plan, effective from a point in time so later versions never rewrite the past.
type Plan struct {
	ID            string    `gorm:"primaryKey;size:40"`
	AffiliateID   string    `gorm:"size:40;not null;index:idx_plan_affiliate_from"`
	Type          string    `gorm:"size:16;not null"` // cpa
	AmountMinor   int64     `gorm:"not null"`
	Currency      string    `gorm:"size:3;not null"`
	EffectiveFrom time.Time `gorm:"not null;index:idx_plan_affiliate_from"`
	CreatedAt     time.Time
}

// PostbackEndpoint is an affiliate's tracker URL template that receives outbound postbacks.
type PostbackEndpoint struct {
	ID             string `gorm:"primaryKey;size:40"`
	AffiliateID    string `gorm:"size:40;not null;index"`
	URL            string `gorm:"size:2048;not null"`
	Method         string `gorm:"size:8;not null"`
	Events         string `gorm:"size:256;not null"` // comma-separated event names
	Enabled        bool   `gorm:"not null"`
	DisabledReason string `gorm:"size:256"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Conversion is one inbound event, recorded exactly once per (integration, event id).
type Conversion struct {
	ID            string `gorm:"primaryKey;size:40"`
	IntegrationID string `gorm:"size:40;not null;uniqueIndex:idx_conversion_event"`
	EventID       string `gorm:"size:128;not null;uniqueIndex:idx_conversion_event"`
	Event         string `gorm:"size:32;not null"`
	AffiliateID   string `gorm:"size:40;index"`
	PlayerID      string `gorm:"size:128"`
	ClickID       string `gorm:"size:128"`
	AmountMinor   int64
	Currency      string `gorm:"size:3"`
	Sub1          string `gorm:"size:256"`
	Sub2          string `gorm:"size:256"`
	Sub3          string `gorm:"size:256"`
	Sub4          string `gorm:"size:256"`
	Sub5          string `gorm:"size:256"`
	OccurredAt    time.Time
	WorkflowID    string `gorm:"size:300"`
	CreatedAt     time.Time
}

// LedgerEntry is one signed commission amount. SourceKey is unique, so a replayed calculation writes nothing twice.
type LedgerEntry struct {
	ID           string `gorm:"primaryKey;size:40"`
	AffiliateID  string `gorm:"size:40;not null;index"`
	SourceKey    string `gorm:"size:300;not null;uniqueIndex"`
	ConversionID string `gorm:"size:40;index"`
	Kind         string `gorm:"size:32;not null"`
	AmountMinor  int64  `gorm:"not null"`
	Currency     string `gorm:"size:3;not null"`
	CreatedAt    time.Time
}

// Delivery states.
const (
	DeliveryPending     = "pending"
	DeliveryDelivered   = "delivered"
	DeliveryNeedsReview = "needs_review"
	DeliverySkipped     = "skipped"
)

// Delivery kinds.
const (
	DeliveryKindPostback = "postback"
	DeliveryKindWebhook  = "webhook"
)

// Delivery is one outbound message (a postback to an affiliate's tracker, or a signed webhook) and its state.
type Delivery struct {
	ID   string `gorm:"primaryKey;size:40"`
	Kind string `gorm:"size:16;not null"`
	// EndpointID is the target: a PostbackEndpoint for postbacks, a WebhookSubscription for webhooks.
	EndpointID     string `gorm:"size:40;not null;index"`
	EventType      string `gorm:"size:64"`
	EventKey       string `gorm:"size:300;index"` // the webhook event occurrence this delivery carries
	ConversionID   string `gorm:"size:40;index"`
	IntegrationID  string `gorm:"size:40"`
	AffiliateID    string `gorm:"size:40;index"`
	EventID        string `gorm:"size:128;index"`
	Method         string `gorm:"size:8;not null"`
	URL            string `gorm:"size:4096;not null"`
	Body           string `gorm:"type:text"`
	Status         string `gorm:"size:16;not null;index"`
	StatusReason   string `gorm:"size:512"`
	Attempts       int    `gorm:"not null"`
	LastStatusCode int
	DeliveredAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// DeliveryAttempt is one HTTP attempt of a delivery, kept for disputes and debugging.
type DeliveryAttempt struct {
	ID           uint   `gorm:"primaryKey"`
	DeliveryID   string `gorm:"size:40;not null;uniqueIndex:idx_attempt_number"`
	Number       int    `gorm:"not null;uniqueIndex:idx_attempt_number"`
	StartedAt    time.Time
	DurationMS   int64
	StatusCode   int
	ResponseBody string `gorm:"type:text"`
	Error        string `gorm:"size:1024"`
}

// WebhookSubscription is a receiver of signed webhook events: the operator, an internal system or the CRM.
type WebhookSubscription struct {
	ID          string `gorm:"primaryKey;size:40"`
	Kind        string `gorm:"size:16;not null"` // webhook | crm
	URL         string `gorm:"size:2048;not null"`
	Events      string `gorm:"size:1024;not null"` // comma-separated event types
	Description string `gorm:"size:512"`
	Enabled     bool   `gorm:"not null"`
	// DisabledReason says why the subscription was disabled (auto-disable, 410, operator).
	DisabledReason string `gorm:"size:256"`
	// ConsecutiveFailures counts deliveries that ended in needs_review since the last success.
	ConsecutiveFailures int `gorm:"not null"`
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// WebhookSecret is one signing secret of a subscription. The current one has no ExpiresAt; after a rotation the
// previous one signs too until ExpiresAt. Kept in clear because HMAC needs it; never logged or shown again.
type WebhookSecret struct {
	ID             string `gorm:"primaryKey;size:40"`
	SubscriptionID string `gorm:"size:40;not null;index"`
	Secret         string `gorm:"size:128;not null"`
	ExpiresAt      *time.Time
	CreatedAt      time.Time
}

// models lists every table, in creation order.
var models = []any{
	&Integration{}, &APIKey{}, &Affiliate{}, &Plan{}, &PostbackEndpoint{},
	&Conversion{}, &LedgerEntry{}, &Delivery{}, &DeliveryAttempt{},
	&WebhookSubscription{}, &WebhookSecret{},
	&SigningSecret{}, &AuditRecord{},
}
