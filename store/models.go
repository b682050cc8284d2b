package store

import (
	"strings"
	"time"
)

// Integration is one operator platform that sends postbacks.
type Integration struct {
	ID       string          `gorm:"primaryKey;size:40"`
	Name     string          `gorm:"size:128;not null;uniqueIndex"`
	Security InboundSecurity `gorm:"embedded;embeddedPrefix:sec_"`
	// LandingHosts is the comma-separated allowlist of hosts a tracking link may redirect to.
	LandingHosts string `gorm:"size:2048"`
	// PostbackMapping is the sender's dialect (postback.Mapping as JSON; empty for the native format).
	PostbackMapping string `gorm:"type:text"`
	// IdempotencyKey is what makes two postbacks the same event: event_id, or click_id and the event type.
	IdempotencyKey string `gorm:"size:16;not null;default:event_id"`
	CreatedAt      time.Time
}

// Click is one visit through a tracking link; its ID is the click_id the operator sends back in postbacks.
// AffiliateID is the code the link named, known or not.
type Click struct {
	ID            string `gorm:"primaryKey;size:40"`
	AffiliateID   string `gorm:"size:128;not null;index;index:idx_clicks_affiliate_created,priority:1"`
	IntegrationID string `gorm:"size:40;not null"`
	Sub1          string `gorm:"size:256"`
	Sub2          string `gorm:"size:256"`
	Sub3          string `gorm:"size:256"`
	Sub4          string `gorm:"size:256"`
	Sub5          string `gorm:"size:256"`
	LandingURL    string `gorm:"size:2048;not null"`
	// Visitor is a hash of the client's address and user agent: the performance report counts a visitor once
	// per affiliate and UTC day as a unique click. Empty on clicks recorded before it was kept.
	Visitor   string    `gorm:"size:32;not null;default:''"`
	CreatedAt time.Time `gorm:"index:idx_clicks_affiliate_created,priority:2;index:idx_clicks_created"`
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
	ID    string `gorm:"primaryKey;size:40"`
	Name  string `gorm:"size:200;not null"`
	Email string `gorm:"size:320"`
	// ParentID is the affiliate who recruited this one and earns ParentShareBP basis points of its commission.
	ParentID      string `gorm:"size:40;index"`
	ParentShareBP int64
	CreatedAt     time.Time
}

// Plan is one version of an affiliate's commission plan, effective from a point in time so later versions
// never rewrite the past. Entries name the version that paid them.
type Plan struct {
	ID                     string `gorm:"primaryKey;size:40"`
	AffiliateID            string `gorm:"size:40;not null;uniqueIndex:idx_plan_affiliate_from"`
	Type                   string `gorm:"size:16;not null"` // cpa, revshare, hybrid
	AmountMinor            int64  `gorm:"not null"`         // the CPA
	Currency               string `gorm:"size:3;not null"`
	MinFirstDepositMinor   int64  `gorm:"not null;default:0"`
	CumulativeDepositMinor int64  `gorm:"not null;default:0"`
	WindowDays             int    `gorm:"not null;default:0"`
	Tiers                  string `gorm:"type:text"` // JSON [{"from_minor":0,"rate_bp":2500},...]
	TierMode               string `gorm:"size:8"`
	Carryover              bool   `gorm:"not null;default:false"`
	// VolumeRates is a volume plan's rates per lot, JSON [{"instrument":"fx","tiers":[{"from_lots":0,"rate_minor":500}]}].
	VolumeRates string `gorm:"type:text"`
	// HoldDays is how long the version's entries stay pending (for chargebacks) before they can be paid.
	HoldDays      int       `gorm:"not null;default:0"`
	EffectiveFrom time.Time `gorm:"not null;uniqueIndex:idx_plan_affiliate_from"`
	CreatedAt     time.Time
}

// FXRate is how many units of Quote one unit of Base buys, scaled by 10^8, from EffectiveFrom on.
type FXRate struct {
	ID            string    `gorm:"primaryKey;size:40"`
	Base          string    `gorm:"size:3;not null;uniqueIndex:idx_fx_pair_from"`
	Quote         string    `gorm:"size:3;not null;uniqueIndex:idx_fx_pair_from"`
	RateE8        int64     `gorm:"not null"`
	EffectiveFrom time.Time `gorm:"not null;uniqueIndex:idx_fx_pair_from"`
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
	// ConsecutiveFailures counts deliveries that ended in needs_review since the last success.
	ConsecutiveFailures int          `gorm:"not null;default:0"`
	Limits              TargetLimits `gorm:"embedded"`
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// TargetLimits are a receiver's own limits on attempts per second and in flight at once, in place of the
// defaults (delivery.target_max_rps, delivery.target_max_in_flight); 0 means the default.
type TargetLimits struct {
	MaxRPS      float64 `gorm:"not null;default:0"`
	MaxInFlight int     `gorm:"not null;default:0"`
}

// ReconciliationWorkflowIDPrefix begins the workflow id of every reconciliation batch, which is the WorkflowID
// of the corrections it records.
const ReconciliationWorkflowIDPrefix = "reconciliation:"

// RecordedByReconciliation says a conversion with that WorkflowID is a reconciliation's correction.
func RecordedByReconciliation(workflowID string) bool {
	return strings.HasPrefix(workflowID, ReconciliationWorkflowIDPrefix)
}

// FromReconciliation says a reconciliation recorded the conversion (a correction), not a postback.
func (c Conversion) FromReconciliation() bool { return RecordedByReconciliation(c.WorkflowID) }

// Conversion is one inbound event, recorded exactly once per (integration, event id).
type Conversion struct {
	ID            string `gorm:"primaryKey;size:40"`
	IntegrationID string `gorm:"size:40;not null;uniqueIndex:idx_conversion_event;index:idx_conversion_player,priority:1;index:idx_conversion_original,priority:1"`
	EventID       string `gorm:"size:128;not null;uniqueIndex:idx_conversion_event"`
	Event         string `gorm:"size:32;not null"`
	AffiliateID   string `gorm:"size:40;index;index:idx_conversion_affiliate_occurred,priority:1"`
	PlayerID      string `gorm:"size:128;index:idx_conversion_player,priority:2"`
	ClickID       string `gorm:"size:128"`
	AmountMinor   int64
	Currency      string `gorm:"size:3"`
	Sub1          string `gorm:"size:256"`
	Sub2          string `gorm:"size:256"`
	Sub3          string `gorm:"size:256"`
	Sub4          string `gorm:"size:256"`
	Sub5          string `gorm:"size:256"`
	// OriginalEventID is the event a chargeback, refund or reversal undoes.
	OriginalEventID string `gorm:"size:128;index:idx_conversion_original,priority:2"`
	// VolumeLots (hundredths of a lot) and Instrument are a trade's.
	VolumeLots int64  `gorm:"not null;default:0"`
	Instrument string `gorm:"size:16"`
	// The performance report reads conversions by affiliate and time, and by time across affiliates.
	OccurredAt time.Time `gorm:"index:idx_conversion_affiliate_occurred,priority:2;index:idx_conversion_occurred"`
	WorkflowID string    `gorm:"size:300"`
	// Status is approved, pending or declined (package postback): only an approved conversion earns.
	Status string `gorm:"size:16;not null;default:approved"`
	// StatusWorkflowID is the workflow that last changed Status (a later postback of the same event).
	StatusWorkflowID string `gorm:"size:300"`
	CreatedAt        time.Time
}

// ConversionRequest is the postback a conversion was recorded from, as received (credentials redacted: see
// package evidence) and as answered; kept for disputes for evidence.request_retention.
type ConversionRequest struct {
	IntegrationID string `gorm:"primaryKey;size:40"`
	EventID       string `gorm:"primaryKey;size:128"`
	RequestID     string `gorm:"size:40"`
	Method        string `gorm:"size:8;not null"`
	Path          string `gorm:"size:512;not null"`
	Query         string `gorm:"type:text;not null"`
	// Headers is a JSON object of header names to their values.
	Headers          string    `gorm:"type:text;not null"`
	Body             string    `gorm:"type:text;not null"`
	BodyEncoding     string    `gorm:"size:8;not null"`
	BodySize         int64     `gorm:"not null"`
	BodySHA256       string    `gorm:"column:body_sha256;size:64;not null"`
	ClientIP         string    `gorm:"size:64"`
	KeyID            string    `gorm:"size:40"`
	SignatureVerdict string    `gorm:"size:128"`
	ResponseStatus   int       `gorm:"not null"`
	ResponseBody     string    `gorm:"type:text;not null"`
	ReceivedAt       time.Time `gorm:"not null;index"`
}

// LedgerEntry is one signed commission amount. SourceKey is unique, so a replayed calculation writes nothing
// twice. Entries are only ever inserted: a correction is a new entry linked by OriginalKey.
type LedgerEntry struct {
	ID           string `gorm:"primaryKey;size:40"`
	AffiliateID  string `gorm:"size:40;not null;index:idx_ledger_affiliate_at"`
	SourceKey    string `gorm:"size:300;not null;uniqueIndex"`
	ConversionID string `gorm:"size:40;index"`
	Kind         string `gorm:"size:32;not null"`
	AmountMinor  int64  `gorm:"not null"`
	Currency     string `gorm:"size:3;not null"`
	PlanID       string `gorm:"size:40"`
	EventID      string `gorm:"size:128"`
	PlayerID     string `gorm:"size:128"`
	// EventAt is when the event that earned the entry happened; reports group by it.
	EventAt time.Time `gorm:"index:idx_ledger_affiliate_at;index:idx_ledger_event_at"`
	// FXRate is the rate the event's amount was converted at, e.g. "EUR/USD=1.08345000"; empty when none was.
	FXRate string `gorm:"size:40"`
	// Period (a month, "2026-11") and BaseMinor (the NGR added to it) are set on RevShare entries.
	Period      string `gorm:"size:7"`
	BaseMinor   int64  `gorm:"not null;default:0"`
	OriginalKey string `gorm:"size:300"`
	// Instrument is the volume rate a volume entry's lots (BaseMinor) count under.
	Instrument string `gorm:"size:16"`
	// Status is pending, approved, on_hold or paid (package payout). Only the status ever changes; every
	// change is recorded in entry_transitions.
	Status    string `gorm:"size:16;not null;default:pending;index"`
	CreatedAt time.Time
}

// RevSharePeriod sums an affiliate's RevShare entries of one period (month and plan version): the NGR added
// and the commission written. It is updated in the transaction that writes each RevShare entry, so a revenue
// event reads its affiliate's RevShare so far in O(periods) instead of summing the whole ledger.
type RevSharePeriod struct {
	AffiliateID  string `gorm:"primaryKey;size:40"`
	Period       string `gorm:"primaryKey;size:7"`
	PlanID       string `gorm:"primaryKey;size:40"`
	NGRMinor     int64  `gorm:"not null"`
	WrittenMinor int64  `gorm:"not null"`
}

// VolumePeriod sums an affiliate's volume entries of one period (month, plan version and instrument rate): the
// lots added and the commission written, updated in the transaction that writes each volume entry.
type VolumePeriod struct {
	AffiliateID  string `gorm:"primaryKey;size:40"`
	Period       string `gorm:"primaryKey;size:7"`
	PlanID       string `gorm:"primaryKey;size:40"`
	Instrument   string `gorm:"primaryKey;size:16"`
	Lots         int64  `gorm:"not null"`
	WrittenMinor int64  `gorm:"not null"`
}

// CommissionReport is a stored weekly commission report of one affiliate, written once per week.
type CommissionReport struct {
	ID          string    `gorm:"primaryKey;size:40"`
	AffiliateID string    `gorm:"size:40;not null;uniqueIndex:idx_report_affiliate_week"`
	PeriodStart time.Time `gorm:"not null;uniqueIndex:idx_report_affiliate_week"`
	PeriodEnd   time.Time `gorm:"not null"`
	Body        string    `gorm:"type:text;not null"` // the report document, JSON
	CreatedAt   time.Time
}

// Delivery states.
const (
	DeliveryPending     = "pending"
	DeliveryDelivered   = "delivered"
	DeliveryNeedsReview = "needs_review"
	DeliverySkipped     = "skipped"
	// DeliveryHeld waits, unsent, while its endpoint or subscription is disabled; re-enabling it sends or
	// discards the held deliveries.
	DeliveryHeld = "held"
	// DeliveryRetrying is not stored: it is a pending delivery that has had at least one attempt, as the queue
	// depth reports it.
	DeliveryRetrying = "retrying"
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
	// URL and RequestHeaders (a JSON object) are the request as sent: a webhook's timestamp and signature
	// change with every attempt. Empty on attempts made before they were kept.
	URL            string `gorm:"type:text;not null;default:''"`
	RequestHeaders string `gorm:"type:text;not null;default:''"`
}

// WebhookSubscription is a receiver of signed webhook events: the operator, an internal system or the CRM.
type WebhookSubscription struct {
	ID          string `gorm:"primaryKey;size:40"`
	Kind        string `gorm:"size:16;not null"` // webhook | crm
	URL         string `gorm:"size:2048;not null"`
	Events      string `gorm:"size:1024;not null"` // comma-separated event types
	Description string `gorm:"size:512"`
	// AffiliateID, when set, limits the subscription to events about that affiliate (e.g. its own payouts).
	AffiliateID string `gorm:"size:40;index"`
	Enabled     bool   `gorm:"not null"`
	// DisabledReason says why the subscription was disabled (auto-disable, 410, operator).
	DisabledReason string `gorm:"size:256"`
	// ConsecutiveFailures counts deliveries that ended in needs_review since the last success.
	ConsecutiveFailures int `gorm:"not null"`
	// SecretMaxAgeDays bounds the age of the subscription's secret before secret.expiring; 0 means secret.max_age.
	SecretMaxAgeDays int          `gorm:"not null;default:0"`
	Limits           TargetLimits `gorm:"embedded"`
	// Report is when a subscription to performance.report gets it.
	Report    ReportSchedule `gorm:"embedded;embeddedPrefix:report_"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ReportSchedule is how often a subscription gets performance.report (daily, weekly or monthly) and the time
// zone whose midnights bound its periods.
type ReportSchedule struct {
	Frequency string `gorm:"size:8;not null;default:weekly"`
	TimeZone  string `gorm:"size:64;not null;default:UTC"`
}

// WebhookSecret is one signing secret of a subscription. The current one has no ExpiresAt; after a rotation the
// previous one signs too until ExpiresAt. Sealed at rest (HMAC needs the key itself); never logged or shown again.
type WebhookSecret struct {
	ID             string `gorm:"primaryKey;size:40"`
	SubscriptionID string `gorm:"size:40;not null;index"`
	Secret         string `gorm:"type:text;not null;serializer:sealed"`
	ExpiresAt      *time.Time
	// ExpiringAnnouncedAt is when secret.expiring went out for it (once per secret).
	ExpiringAnnouncedAt *time.Time
	CreatedAt           time.Time
}

// models lists every table. The migrations create them (store/migrations); TestMigrationsMatchTheModels
// checks that the two agree.
var models = []any{
	&Integration{}, &APIKey{}, &Affiliate{}, &Plan{}, &FXRate{}, &Click{}, &PostbackEndpoint{},
	&Conversion{}, &ConversionRequest{}, &LedgerEntry{}, &RevSharePeriod{}, &VolumePeriod{}, &CommissionReport{}, &Delivery{}, &DeliveryAttempt{},
	&WebhookSubscription{}, &WebhookSecret{},
	&SigningSecret{}, &AuditRecord{}, &AuditChainHead{}, &AuditCheckpoint{},
	&ReconciliationBatch{}, &ReconciliationRow{}, &ReconciliationChunk{}, &ReconciliationPull{},
	&EntryTransition{}, &Payout{}, &PayoutLine{}, &AffiliatePayoutMinimum{}, &PayoutKey{},
	&OpsAlarm{}, &DeliveryRefire{}, &RefireJob{},
}

// Refire job states.
const (
	RefireJobRunning   = "running"
	RefireJobCompleted = "completed"
)

// RefireJob is a bulk re-fire (RefireJobWorkflow): the deliveries its filter matched when it was asked for,
// and its progress. Refired counts the deliveries re-fired so far, Passed those it passed over (their state
// changed meanwhile, e.g. to pending); the job is done when the two add up to Total, or fewer when deliveries
// stopped matching.
type RefireJob struct {
	ID            string `gorm:"primaryKey;size:40"`
	Filter        string `gorm:"type:text;not null"` // the request's filter, JSON
	Reason        string `gorm:"size:512;not null"`
	RatePerSecond int    `gorm:"not null"`
	Total         int64  `gorm:"not null"`
	Refired       int64  `gorm:"not null"`
	Passed        int64  `gorm:"not null"`
	State         string `gorm:"size:16;not null"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
}

// DeliveryRefire records an operator's re-fire of a delivery: a new attempt series under the same delivery id
// and Idempotency-Key, and why. JobID names the bulk re-fire job that did it, or is empty for a single one.
type DeliveryRefire struct {
	ID             uint   `gorm:"primaryKey"`
	DeliveryID     string `gorm:"size:40;not null;index"`
	JobID          string `gorm:"size:40;index"`
	Reason         string `gorm:"size:512;not null"`
	PreviousStatus string `gorm:"size:16;not null"`
	RequestedAt    time.Time
}

// OpsAlarm is the stored state of one queue alarm (package opsalert), shared by every API process so that
// each change is announced once. Seq counts its changes and names the event that announced the last one.
type OpsAlarm struct {
	Key       string `gorm:"primaryKey;size:200"`
	Firing    bool   `gorm:"not null"`
	Seq       int    `gorm:"not null"`
	Depth     int64  `gorm:"not null"`
	ChangedAt time.Time
}
