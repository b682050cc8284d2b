// Package webhook defines affrelay's outbound webhook events: their names, the one JSON envelope they travel
// in, the payload shapes, and the rules for subscriptions. It does no I/O.
package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Event types. Every event a subscription may ask for is listed in EventTypes.
const (
	ConversionRecorded   = "conversion.recorded"
	CommissionCalculated = "commission.calculated"
	CommissionReversed   = "commission.reversed"
	CommissionReport     = "commission.report"
	// PerformanceReport: a subscription's performance report (and commission totals) of its last full day,
	// week or month, in its own time zone.
	PerformanceReport   = "performance.report"
	AffiliateCreated    = "affiliate.created"
	DeliveryNeedsReview = "delivery.needs_review"
	EndpointDisabled    = "endpoint.disabled"
	ReconciliationDone  = "reconciliation.completed"
	// ReconciliationPullFailed: a scheduled pull of an operator's day gave up; the day has a failed batch.
	ReconciliationPullFailed = "ops.reconciliation_pull_failed"
	PayoutRequested          = "payout.requested"
	PayoutReminder           = "payout.reminder"
	PayoutProcessed          = "payout.processed"
	PayoutFailed             = "payout.failed"
	// FXRateMissing: a conversion waits for an FX rate an admin must add; it resumes when the rate is added.
	FXRateMissing = "fx.rate_missing"
	// ConversionStuck: a conversion could not be recorded after its bounded retries; it keeps retrying.
	ConversionStuck = "conversion.stuck"
	// DeliveryStuck: a delivery's state change could not be stored after its bounded retries; it keeps retrying.
	DeliveryStuck = "delivery.stuck"
	// DeliveryUnstuck: a delivery announced by delivery.stuck stored its state at last.
	DeliveryUnstuck = "delivery.unstuck"
	// OpsQueueDepthExceeded: a queue alarm fired (the whole queue or one target over its threshold, or a
	// burst of deliveries entering needs_review); OpsQueueDepthRecovered: it fell back to its lower mark.
	OpsQueueDepthExceeded  = "ops.queue_depth_exceeded"
	OpsQueueDepthRecovered = "ops.queue_depth_recovered"
	// LeadAttributed: a player was attributed to an affiliate for the first time; LeadUpdated: a later event
	// changed the player's status (ftd, cpa_qualified, chargeback). Both carry LeadData, to CRMs too.
	LeadAttributed = "lead.attributed"
	LeadUpdated    = "lead.updated"
	// SecretExpiring: an inbound signing secret or a webhook secret reaches its maximum age soon; rotate it.
	SecretExpiring = "secret.expiring"
	// AuditCheckpoint: the daily copy of the audit log's chain head, to be kept outside affrelay's database.
	AuditCheckpoint = "audit.checkpoint"
	Test            = "webhook.test"
)

// Limits on a subscription's fields.
const (
	maxDescriptionLength  = 512
	maxURLLength          = 2048
	maxEventsPerSubscribe = 32
)

// EventTypes lists every event a subscription may name. Features that emit a new event add it here.
var EventTypes = []string{
	ConversionRecorded, CommissionCalculated, CommissionReversed, CommissionReport, PerformanceReport, AffiliateCreated,
	DeliveryNeedsReview, EndpointDisabled, ReconciliationDone, ReconciliationPullFailed,
	PayoutRequested, PayoutReminder, PayoutProcessed, PayoutFailed,
	FXRateMissing, ConversionStuck, DeliveryStuck, DeliveryUnstuck, OpsQueueDepthExceeded, OpsQueueDepthRecovered,
	LeadAttributed, LeadUpdated, SecretExpiring, AuditCheckpoint,
}

// Subscription kinds. A CRM subscription receives the CRM payload shape, and only for CRMEventTypes.
const (
	KindWebhook = "webhook"
	KindCRM     = "crm"
)

// CRMEventTypes are the events that have a CRM payload shape.
var CRMEventTypes = []string{AffiliateCreated, LeadAttributed, LeadUpdated}

// Envelope is the one JSON shape of every event: {"type":"…","timestamp":"RFC3339","data":{…}}.
type Envelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// Marshal renders an event. at is when the event happened, stored with the delivery, so every retry sends
// the same bytes.
func Marshal(eventType string, at time.Time, data any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	// URLs in payloads (tracking links) stay readable: "&", not "\u0026".
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Envelope{Type: eventType, Timestamp: at.UTC().Format(time.RFC3339), Data: data}); err != nil {
		return "", fmt.Errorf("marshal %s event: %w", eventType, err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// DeliveryID is the stable id of one event's delivery to one subscription: the webhook-id receivers
// deduplicate by, and the key that keeps a re-run from planning the delivery twice.
func DeliveryID(eventKey, subscriptionID string) string {
	sum := sha256.Sum256([]byte("webhook\x00" + eventKey + "\x00" + subscriptionID))
	return "msg_" + hex.EncodeToString(sum[:12])
}

// EventKey names one occurrence of an event, e.g. "conversion.recorded:cnv_…".
func EventKey(eventType, subject string) string {
	return eventType + ":" + subject
}

// Subscribed reports whether a comma-separated events list names eventType.
func Subscribed(events, eventType string) bool {
	return slices.Contains(strings.Split(events, ","), eventType)
}

// ValidateURL accepts an absolute http or https URL with a host.
func ValidateURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("is required")
	}
	if len(raw) > maxURLLength {
		return fmt.Errorf("is longer than %d bytes", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must be an absolute http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("has no host")
	}
	if u.User != nil {
		return fmt.Errorf("must not carry credentials; the signature authenticates the sender")
	}
	return nil
}

// ValidateKind accepts "webhook" or "crm".
func ValidateKind(kind string) error {
	if kind != KindWebhook && kind != KindCRM {
		return fmt.Errorf("%q is not %s or %s", kind, KindWebhook, KindCRM)
	}
	return nil
}

// ValidateEvents checks a subscription's event list for its kind: at least one, each known, none twice.
func ValidateEvents(kind string, events []string) error {
	allowed := EventTypes
	if kind == KindCRM {
		allowed = CRMEventTypes
	}
	if len(events) == 0 {
		return fmt.Errorf("must name at least one event")
	}
	if len(events) > maxEventsPerSubscribe {
		return fmt.Errorf("names more than %d events", maxEventsPerSubscribe)
	}
	for i, e := range events {
		if !slices.Contains(allowed, e) {
			return fmt.Errorf("%q is not one of %s", e, strings.Join(allowed, ", "))
		}
		if slices.Contains(events[:i], e) {
			return fmt.Errorf("%q is listed twice", e)
		}
	}
	return nil
}

// ValidateDescription bounds the free-text description.
func ValidateDescription(d string) error {
	if len(d) > maxDescriptionLength {
		return fmt.Errorf("is longer than %d bytes", maxDescriptionLength)
	}
	return nil
}
