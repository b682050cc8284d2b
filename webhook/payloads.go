package webhook

import (
	"strings"
	"time"
)

// Money is an amount as a decimal string in its currency's minor-unit precision, never a float.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// ConversionData is the data of conversion.recorded.
type ConversionData struct {
	ConversionID  string            `json:"conversion_id"`
	IntegrationID string            `json:"integration_id"`
	EventID       string            `json:"event_id"`
	Event         string            `json:"event"`
	AffiliateID   string            `json:"affiliate_id,omitempty"`
	PlayerID      string            `json:"player_id,omitempty"`
	ClickID       string            `json:"click_id,omitempty"`
	Amount        *Money            `json:"amount,omitempty"`
	Subs          map[string]string `json:"subs,omitempty"`
	OccurredAt    time.Time         `json:"occurred_at"`
	// Status is pending or declined for an event that earns nothing (yet); absent for an approved one.
	Status string `json:"status,omitempty"`
	// Volume (lots, decimal) and Instrument are a trade's.
	Volume     string `json:"volume,omitempty"`
	Instrument string `json:"instrument,omitempty"`
}

// CommissionData is the data of commission.calculated (and, with a negative amount, commission.reversed).
type CommissionData struct {
	LedgerEntryID string `json:"ledger_entry_id"`
	AffiliateID   string `json:"affiliate_id"`
	ConversionID  string `json:"conversion_id"`
	IntegrationID string `json:"integration_id"`
	EventID       string `json:"event_id"`
	Kind          string `json:"kind"`
	Commission    Money  `json:"commission"`
	// ReversesLedgerEntryID names the entry a commission.reversed adjustment claws back or corrects.
	ReversesLedgerEntryID string `json:"reverses_ledger_entry_id,omitempty"`
}

// Plan is an affiliate's commission plan as events show it.
type Plan struct {
	Type   string `json:"type"`
	Amount Money  `json:"amount"`
}

// LinkParameters tell the operator how to build the affiliate's tracking links.
type LinkParameters struct {
	// TrackingLinkTemplate is the affiliate's tracking link; {click_id} and {sub1}..{sub5} are filled per click.
	TrackingLinkTemplate string   `json:"tracking_link_template"`
	SubIDNames           []string `json:"sub_id_names"`
}

// AffiliateData is the data of affiliate.created as webhook subscribers get it.
type AffiliateData struct {
	AffiliateID string         `json:"affiliate_id"`
	Name        string         `json:"name"`
	Email       string         `json:"email,omitempty"`
	Plan        Plan           `json:"plan"`
	Links       LinkParameters `json:"links"`
	CreatedAt   time.Time      `json:"created_at"`
}

// CRMAttribution is the data of affiliate.created as CRM subscriptions get it: a contact keyed by the
// affiliate id, and the attribution tags a CRM puts on the players this affiliate brings.
type CRMAttribution struct {
	ExternalID string            `json:"external_id"`
	Name       string            `json:"name"`
	Email      string            `json:"email,omitempty"`
	Tags       []string          `json:"tags"`
	Attributes map[string]string `json:"attributes"`
}

// NewLinkParameters fills the configured tracking link template with the affiliate's id; the per-click
// macros stay for the tracker to fill.
func NewLinkParameters(template, affiliateID string, subIDNames []string) LinkParameters {
	return LinkParameters{
		TrackingLinkTemplate: strings.ReplaceAll(template, "{affiliate_id}", affiliateID),
		SubIDNames:           subIDNames,
	}
}

// NewCRMAttribution derives the CRM shape from the affiliate.created data.
func NewCRMAttribution(a AffiliateData) CRMAttribution {
	return CRMAttribution{
		ExternalID: a.AffiliateID,
		Name:       a.Name,
		Email:      a.Email,
		Tags:       []string{"affiliate", "affiliate_id:" + a.AffiliateID, "plan:" + a.Plan.Type},
		Attributes: map[string]string{
			"affiliate_id":           a.AffiliateID,
			"plan_type":              a.Plan.Type,
			"plan_amount":            a.Plan.Amount.Amount,
			"plan_currency":          a.Plan.Amount.Currency,
			"tracking_link_template": a.Links.TrackingLinkTemplate,
			"sub_id_names":           strings.Join(a.Links.SubIDNames, ","),
		},
	}
}

// Lead statuses, as lead.attributed and lead.updated show them.
const (
	LeadRegistered   = "registered"
	LeadFTD          = "ftd"
	LeadCPAQualified = "cpa_qualified"
	LeadChargeback   = "chargeback"
)

// LeadData is the data of lead.attributed and lead.updated: the player, who brought it and from where (its
// attribution tags), when it was first seen, and its status after the event named by EventID.
type LeadData struct {
	PlayerID      string            `json:"player_id"`
	IntegrationID string            `json:"integration_id"`
	AffiliateID   string            `json:"affiliate_id"`
	ClickID       string            `json:"click_id,omitempty"`
	Subs          map[string]string `json:"subs,omitempty"`
	LandingHost   string            `json:"landing_host,omitempty"`
	FirstSeenAt   time.Time         `json:"first_seen_at"`
	Status        string            `json:"status"`
	EventID       string            `json:"event_id"`
	Event         string            `json:"event"`
}

// SecretExpiringData is the data of secret.expiring: which secret (Kind signing_secret, an integration's
// inbound signing secret, or webhook_secret, a subscription's), whose, how old, and when it ends.
// IntegrationID is set for a signing secret, SubscriptionID for a webhook secret.
type SecretExpiringData struct {
	Kind           string    `json:"kind"`
	SecretID       string    `json:"secret_id"`
	Prefix         string    `json:"prefix,omitempty"`
	IntegrationID  string    `json:"integration_id,omitempty"`
	SubscriptionID string    `json:"subscription_id,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
	AgeDays        int       `json:"age_days"`
	MaxAgeDays     int       `json:"max_age_days"`
}

// DeliveryReviewData is the data of delivery.needs_review.
type DeliveryReviewData struct {
	DeliveryID     string `json:"delivery_id"`
	Kind           string `json:"kind"`
	TargetID       string `json:"target_id"`
	EventType      string `json:"event_type,omitempty"`
	EventID        string `json:"event_id,omitempty"`
	AffiliateID    string `json:"affiliate_id,omitempty"`
	Reason         string `json:"reason"`
	Attempts       int    `json:"attempts"`
	LastStatusCode int    `json:"last_status_code,omitempty"`
}

// EndpointDisabledData is the data of endpoint.disabled: a webhook subscription (SubscriptionID) or an
// affiliate's postback endpoint (EndpointID, AffiliateID) was disabled automatically.
type EndpointDisabledData struct {
	Kind                string `json:"kind"`
	SubscriptionID      string `json:"subscription_id,omitempty"`
	EndpointID          string `json:"endpoint_id,omitempty"`
	AffiliateID         string `json:"affiliate_id,omitempty"`
	URL                 string `json:"url"`
	Reason              string `json:"reason"`
	ConsecutiveFailures int    `json:"consecutive_failures"`
}

// ConversionProblemData is the data of fx.rate_missing and conversion.stuck: which conversion waits, and why.
// Base and Quote name the missing rate of fx.rate_missing.
type ConversionProblemData struct {
	WorkflowID    string `json:"workflow_id"`
	IntegrationID string `json:"integration_id"`
	EventID       string `json:"event_id"`
	AffiliateID   string `json:"affiliate_id,omitempty"`
	Reason        string `json:"reason"`
	Base          string `json:"base,omitempty"`
	Quote         string `json:"quote,omitempty"`
}

// DeliveryStuckData is the data of delivery.stuck and delivery.unstuck: which delivery could not store its
// state, the state it was storing, why, and since when; UnstuckAt is set in delivery.unstuck only.
type DeliveryStuckData struct {
	DeliveryID  string     `json:"delivery_id"`
	WorkflowID  string     `json:"workflow_id"`
	EventType   string     `json:"event_type,omitempty"`
	AffiliateID string     `json:"affiliate_id,omitempty"`
	State       string     `json:"state"`
	Reason      string     `json:"reason"`
	StuckSince  time.Time  `json:"stuck_since"`
	UnstuckAt   *time.Time `json:"unstuck_at,omitempty"`
}

// QueueAlarmData is the data of ops.queue_depth_exceeded and ops.queue_depth_recovered. Scope is "queue"
// (every undelivered delivery), "target" (one endpoint or subscription, TargetID) or "needs_review_burst"
// (deliveries that entered needs_review within the burst window).
type QueueAlarmData struct {
	Alarm     string `json:"alarm"`
	Scope     string `json:"scope"`
	TargetID  string `json:"target_id,omitempty"`
	Depth     int64  `json:"depth"`
	Threshold int64  `json:"threshold"`
	RecoverAt int64  `json:"recover_at"`
}

// TestData is the data of webhook.test.
type TestData struct {
	SubscriptionID string `json:"subscription_id"`
	Message        string `json:"message"`
}

// ReconciliationData is the data of reconciliation.completed: the batch and its report's summary.
type ReconciliationData struct {
	BatchID       string `json:"batch_id"`
	IntegrationID string `json:"integration_id"`
	WorkflowID    string `json:"workflow_id"`
	Source        string `json:"source"`
	FirstDay      string `json:"first_day"`
	LastDay       string `json:"last_day"`
	Summary       any    `json:"summary"`
}

// ReconciliationPullFailedData is the data of ops.reconciliation_pull_failed: which day of which integration
// could not be fetched, after how many attempts, and the last error (it names the operator's host, never the
// URL's query or the auth header).
type ReconciliationPullFailedData struct {
	IntegrationID string `json:"integration_id"`
	Day           string `json:"day"`
	BatchID       string `json:"batch_id"`
	WorkflowID    string `json:"workflow_id"`
	Attempts      int    `json:"attempts"`
	Error         string `json:"error"`
}

// AuditCheckpointData is the data of audit.checkpoint: the audit chain's head when the checkpoint was taken
// (Seq, the position of its last row, and that row's hash). Kept by the receiver, it shows later whether the
// rows up to Seq were changed (GET /v1/admin/audit/verify recomputes the chain).
type AuditCheckpointData struct {
	CheckpointID uint   `json:"checkpoint_id"`
	Seq          int64  `json:"seq"`
	Hash         string `json:"hash"`
	TakenAt      string `json:"taken_at"`
}
