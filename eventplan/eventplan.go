// Package eventplan decides which outbound webhook events a change produces, builds their payloads, and plans
// one delivery per subscription that asked for them. It does no I/O: store.PlanWebhookEvent writes the plan.
package eventplan

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/opsalert"
	"github.com/affrelay/affrelay/performance"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// Event is one occurrence of an event, to be sent to every enabled subscription that asked for its type.
type Event struct {
	// Key names this occurrence (webhook.EventKey); with a subscription id it makes the delivery id.
	Key  string
	Type string
	// At is the event's timestamp, rendered into the stored body so every retry sends the same bytes.
	At   time.Time
	Data any
	// CRMData is what CRM subscriptions get instead of Data; nil means the event has no CRM shape.
	CRMData any
	// Columns that let ops filter deliveries; empty when they do not apply.
	IntegrationID, EventID, AffiliateID, ConversionID string
	// ExceptTarget is a subscription that does not get the event (the one endpoint.disabled is about).
	ExceptTarget string
}

// Deliveries plans one delivery per subscription of subs that asked for the event's type, in the order of
// subs: pending, or held while the subscription is disabled (re-enabling it sends or discards them). Delivery
// ids derive from the event key, so planning again yields the same ids.
func (ev Event) Deliveries(subs []store.WebhookSubscription) ([]store.Delivery, error) {
	var out []store.Delivery
	for _, sub := range subs {
		// A subscription limited to one affiliate gets only that affiliate's events.
		if !webhook.Subscribed(sub.Events, ev.Type) || (sub.AffiliateID != "" && sub.AffiliateID != ev.AffiliateID) || sub.ID == ev.ExceptTarget {
			continue
		}
		data := ev.Data
		if sub.Kind == webhook.KindCRM {
			if ev.CRMData == nil {
				continue
			}
			data = ev.CRMData
		}
		body, err := webhook.Marshal(ev.Type, ev.At, data)
		if err != nil {
			return nil, fmt.Errorf("%s event %s: %w", ev.Type, ev.Key, err)
		}
		out = append(out, store.Delivery{
			ID: webhook.DeliveryID(ev.Key, sub.ID), Kind: store.DeliveryKindWebhook, EndpointID: sub.ID,
			EventType: ev.Type, EventKey: ev.Key, ConversionID: ev.ConversionID, IntegrationID: ev.IntegrationID,
			AffiliateID: ev.AffiliateID, EventID: ev.EventID, Method: "POST", URL: sub.URL, Body: body,
			Status: PlannedStatus(sub.Enabled),
		})
	}
	return out, nil
}

// PlannedStatus is a new delivery's status: pending, or held while its target is disabled.
func PlannedStatus(targetEnabled bool) string {
	if targetEnabled {
		return store.DeliveryPending
	}
	return store.DeliveryHeld
}

// ConversionRecorded is the conversion.recorded event of a stored conversion; its timestamp is when it was recorded.
func ConversionRecorded(c store.Conversion) Event {
	data := webhook.ConversionData{
		ConversionID: c.ID, IntegrationID: c.IntegrationID, EventID: c.EventID, Event: c.Event,
		AffiliateID: c.AffiliateID, PlayerID: c.PlayerID, ClickID: c.ClickID, OccurredAt: c.OccurredAt.UTC(),
	}
	if c.Status != postback.StatusApproved {
		data.Status = c.Status
	}
	if c.Currency != "" {
		data.Amount = &webhook.Money{Amount: money.Format(c.AmountMinor, c.Currency), Currency: c.Currency}
	}
	if c.Event == postback.Trade {
		data.Volume, data.Instrument = postback.FormatLots(c.VolumeLots), c.Instrument
	}
	data.Subs = subsOf(c)
	return Event{
		Key: webhook.EventKey(webhook.ConversionRecorded, c.ID), Type: webhook.ConversionRecorded, At: c.CreatedAt, Data: data,
		IntegrationID: c.IntegrationID, EventID: c.EventID, AffiliateID: c.AffiliateID, ConversionID: c.ID,
	}
}

// subsOf is a conversion's sub1..sub5 that are set, by name; nil when none is.
func subsOf(c store.Conversion) map[string]string {
	var subs map[string]string
	for i, s := range []string{c.Sub1, c.Sub2, c.Sub3, c.Sub4, c.Sub5} {
		if s != "" {
			if subs == nil {
				subs = map[string]string{}
			}
			subs[postback.SubFields[i]] = s
		}
	}
	return subs
}

// LeadStatus is a player's status after conversion c, which wrote entries for its affiliate: cpa_qualified
// when one is a CPA, else by its event type (registered, ftd, chargeback); "" when c changes no status.
func LeadStatus(c store.Conversion, entries []store.LedgerEntry) string {
	for _, e := range entries {
		if e.Kind == commission.KindCPA && e.AffiliateID == c.AffiliateID {
			return webhook.LeadCPAQualified
		}
	}
	switch c.Event {
	case postback.Registration:
		return webhook.LeadRegistered
	case postback.FTD:
		return webhook.LeadFTD
	case postback.Chargeback:
		return webhook.LeadChargeback
	}
	return ""
}

// Lead is lead.attributed when c is first, the player's first attributed conversion (its status then at
// least registered), else lead.updated; nil when c is a later event that changes no status. landingURL is
// the landing URL of first's click ("" without one). The player is attributed once per integration, and
// each later conversion updates it once: the keys say so.
func Lead(c, first store.Conversion, status, landingURL string) *Event {
	eventType, key := webhook.LeadAttributed, webhook.EventKey(webhook.LeadAttributed, c.IntegrationID+":"+c.PlayerID)
	if c.ID != first.ID {
		if status == "" {
			return nil
		}
		eventType, key = webhook.LeadUpdated, webhook.EventKey(webhook.LeadUpdated, c.ID)
	} else if status == "" {
		status = webhook.LeadRegistered
	}
	data := webhook.LeadData{
		PlayerID: c.PlayerID, IntegrationID: c.IntegrationID, AffiliateID: first.AffiliateID, ClickID: first.ClickID,
		Subs: subsOf(first), FirstSeenAt: first.OccurredAt.UTC(), Status: status, EventID: c.EventID, Event: c.Event,
	}
	if u, err := url.Parse(landingURL); err == nil {
		data.LandingHost = u.Hostname()
	}
	return &Event{
		Key: key, Type: eventType, At: c.CreatedAt, Data: data, CRMData: data,
		IntegrationID: c.IntegrationID, EventID: c.EventID, AffiliateID: first.AffiliateID, ConversionID: c.ID,
	}
}

// Commission announces a ledger entry of conversion c: commission.calculated, or commission.reversed for an
// adjustment (a clawback or correction linked to the entry it adjusts, whose id reverses names).
func Commission(e store.LedgerEntry, c store.Conversion, reverses string) Event {
	eventType := webhook.CommissionCalculated
	if e.OriginalKey != "" {
		eventType = webhook.CommissionReversed
	}
	return Event{
		Key: webhook.EventKey(eventType, e.ID), Type: eventType, At: e.CreatedAt,
		IntegrationID: c.IntegrationID, EventID: c.EventID, AffiliateID: e.AffiliateID, ConversionID: c.ID,
		Data: webhook.CommissionData{
			LedgerEntryID: e.ID, AffiliateID: e.AffiliateID, ConversionID: c.ID, IntegrationID: c.IntegrationID,
			EventID: c.EventID, Kind: e.Kind, Commission: webhook.Money{Amount: money.Format(e.AmountMinor, e.Currency), Currency: e.Currency},
			ReversesLedgerEntryID: reverses,
		},
	}
}

// AffiliateCreatedKey names the affiliate.created occurrence of an affiliate.
func AffiliateCreatedKey(affiliateID string) string {
	return webhook.EventKey(webhook.AffiliateCreated, affiliateID)
}

// AffiliateCreated is the affiliate.created event of a new affiliate: registration data and link parameters
// for webhook subscriptions, attribution tags for CRM subscriptions. trackingLink is the configured tracking
// link template.
func AffiliateCreated(aff store.Affiliate, plan store.Plan, trackingLink string) Event {
	data := AffiliateRegistration(aff, plan, trackingLink)
	return Event{
		Key: AffiliateCreatedKey(aff.ID), Type: webhook.AffiliateCreated, At: aff.CreatedAt,
		AffiliateID: aff.ID, Data: data, CRMData: webhook.NewCRMAttribution(data),
	}
}

// AffiliateRegistration is an affiliate's registration data and link parameters: the data of affiliate.created,
// and what GET /v1/admin/affiliates/{id} answers. plan is the version it signed up with.
func AffiliateRegistration(aff store.Affiliate, plan store.Plan, trackingLink string) webhook.AffiliateData {
	return webhook.AffiliateData{
		// In microseconds, as PostgreSQL keeps it: the webhook (planned before the row is read back) and the
		// REST answer (read from it) show the same time.
		AffiliateID: aff.ID, Name: aff.Name, Email: aff.Email, CreatedAt: aff.CreatedAt.UTC().Truncate(time.Microsecond),
		Plan:  webhook.Plan{Type: plan.Type, Amount: webhook.Money{Amount: money.Format(plan.AmountMinor, plan.Currency), Currency: plan.Currency}},
		Links: webhook.NewLinkParameters(trackingLink, aff.ID, postback.SubFields[:]),
	}
}

// CommissionReport is the commission.report event of a stored weekly report; its data is the stored document.
func CommissionReport(r store.CommissionReport) Event {
	return Event{
		Key: webhook.EventKey(webhook.CommissionReport, r.ID), Type: webhook.CommissionReport,
		At: r.CreatedAt, Data: json.RawMessage(r.Body), AffiliateID: r.AffiliateID,
	}
}

// PerformanceReportData is the data of performance.report: a subscription's performance report of one
// period, and the commission totals of the same range (the commission report's totals).
type PerformanceReportData struct {
	SubscriptionID   string                   `json:"subscription_id"`
	Frequency        string                   `json:"frequency"`
	TimeZone         string                   `json:"time_zone"`
	Performance      performance.Document     `json:"performance"`
	CommissionTotals []commission.DocumentRow `json:"commission_totals"`
}

// PerformanceReport is the performance.report event of a subscription's period [from, to): one occurrence
// per subscription and period, so a re-run plans nothing twice. A subscription limited to one affiliate gets
// that affiliate's report by day; any other gets every affiliate's, by affiliate.
func PerformanceReport(sub store.WebhookSubscription, from, to, at time.Time, rep performance.Report) Event {
	totals := []commission.DocumentRow{} // the currencies with entries, as the commission report has them
	for _, m := range rep.Total.Money {
		if m.CommissionEntries > 0 {
			totals = append(totals, commission.DocumentRow{Currency: m.Currency, Entries: int(m.CommissionEntries), Amount: money.Format(m.CommissionMinor, m.Currency)})
		}
	}
	return Event{
		Key:  webhook.EventKey(webhook.PerformanceReport, sub.ID+":"+from.UTC().Format(time.RFC3339)),
		Type: webhook.PerformanceReport, At: at, AffiliateID: sub.AffiliateID,
		Data: PerformanceReportData{
			SubscriptionID: sub.ID, Frequency: sub.Report.Frequency, TimeZone: sub.Report.TimeZone,
			Performance: rep.Document(sub.AffiliateID, from, to), CommissionTotals: totals,
		},
	}
}

// PerformanceReportGroupBy is how a subscription's performance.report groups its rows.
func PerformanceReportGroupBy(sub store.WebhookSubscription) string {
	if sub.AffiliateID != "" {
		return performance.GroupByDay
	}
	return performance.GroupByAffiliate
}

// Review is what entering needs_review announces about delivery d: delivery.needs_review (unless d itself
// carries one, so a failing review receiver cannot start a loop) and, when the failure disables d's endpoint
// or subscription, endpoint.disabled.
type Review struct {
	NeedsReview    *Event
	EndpointOff    *Event
	DisabledReason string
	// Keys of both occurrences, planned now or by an earlier run: the deliveries to start are read back by them.
	Keys []string
}

// Target is the endpoint or subscription a delivery in review went to, as counting its failures needs it.
type Target struct {
	Kind, ID, URL, AffiliateID string
	Enabled                    bool
	ConsecutiveFailures        int
}

// SubscriptionTarget is a webhook subscription as a Target.
func SubscriptionTarget(s store.WebhookSubscription) Target {
	return Target{Kind: store.DeliveryKindWebhook, ID: s.ID, URL: s.URL, AffiliateID: s.AffiliateID, Enabled: s.Enabled, ConsecutiveFailures: s.ConsecutiveFailures}
}

// EndpointTarget is an affiliate's postback endpoint as a Target.
func EndpointTarget(ep store.PostbackEndpoint) Target {
	return Target{Kind: store.DeliveryKindPostback, ID: ep.ID, URL: ep.URL, AffiliateID: ep.AffiliateID, Enabled: ep.Enabled, ConsecutiveFailures: ep.ConsecutiveFailures}
}

// Failure is the target's run of failed deliveries after d entered review, and whether it is disabled now.
type Failure struct {
	ConsecutiveFailures int
	Disable             bool
	Reason              string
}

// CountFailure adds one to the target's run of failures and disables it at autoDisableAfter, or at once when
// the receiver answered 410 Gone.
func CountFailure(t Target, gone bool, autoDisableAfter int) Failure {
	f := Failure{ConsecutiveFailures: t.ConsecutiveFailures + 1}
	f.Disable = t.Enabled && (gone || f.ConsecutiveFailures >= autoDisableAfter)
	if !f.Disable {
		return f
	}
	f.Reason = fmt.Sprintf("disabled after %d deliveries in a row needed review", f.ConsecutiveFailures)
	if gone {
		f.Reason = "receiver answered 410 Gone"
	}
	return f
}

// ReviewEvents plans what d entering review announces at now. target is d's endpoint or subscription when it
// still exists and failure is its counted run; otherwise both are nil.
func ReviewEvents(d store.Delivery, target *Target, failure *Failure, now time.Time) Review {
	disabledKey := webhook.EventKey(webhook.EndpointDisabled, d.EndpointID+":"+d.ID)
	reviewKey := webhook.EventKey(webhook.DeliveryNeedsReview, d.ID+":"+strconv.Itoa(d.Attempts))
	r := Review{Keys: []string{reviewKey, disabledKey}}
	if target != nil && failure != nil && failure.Disable {
		r.DisabledReason = failure.Reason
		data := webhook.EndpointDisabledData{Kind: target.Kind, AffiliateID: target.AffiliateID, URL: target.URL, Reason: failure.Reason, ConsecutiveFailures: failure.ConsecutiveFailures}
		if target.Kind == store.DeliveryKindWebhook {
			data.SubscriptionID = target.ID
		} else {
			data.EndpointID = target.ID
		}
		// The disabled subscription is not sent its own endpoint.disabled, not even held for later.
		r.EndpointOff = &Event{Key: disabledKey, Type: webhook.EndpointDisabled, At: now, AffiliateID: target.AffiliateID, Data: data, ExceptTarget: target.ID}
	}
	if d.EventType != webhook.DeliveryNeedsReview {
		r.NeedsReview = &Event{
			Key: reviewKey, Type: webhook.DeliveryNeedsReview, At: now,
			IntegrationID: d.IntegrationID, EventID: d.EventID, AffiliateID: d.AffiliateID, ConversionID: d.ConversionID,
			Data: webhook.DeliveryReviewData{
				DeliveryID: d.ID, Kind: d.Kind, TargetID: d.EndpointID, EventType: d.EventType, EventID: d.EventID,
				AffiliateID: d.AffiliateID, Reason: d.StatusReason, Attempts: d.Attempts, LastStatusCode: d.LastStatusCode,
			},
		}
	}
	return r
}

// ReconciliationCompleted is reconciliation.completed of a finished batch, with its report's summary.
func ReconciliationCompleted(b store.ReconciliationBatch, summary any, at time.Time) Event {
	return Event{
		Key: webhook.EventKey(webhook.ReconciliationDone, b.ID), Type: webhook.ReconciliationDone, At: at,
		IntegrationID: b.IntegrationID,
		Data: webhook.ReconciliationData{BatchID: b.ID, IntegrationID: b.IntegrationID, WorkflowID: b.WorkflowID,
			Source: b.Source, FirstDay: b.FirstDay, LastDay: b.LastDay, Summary: summary},
	}
}

// ReconciliationPullFailed is ops.reconciliation_pull_failed of a pull that gave up: one per failed batch,
// which is one per pull workflow run.
func ReconciliationPullFailed(b store.ReconciliationBatch, workflowID string, attempts int, at time.Time) Event {
	return Event{
		Key: webhook.EventKey(webhook.ReconciliationPullFailed, b.ID), Type: webhook.ReconciliationPullFailed, At: at,
		IntegrationID: b.IntegrationID,
		Data: webhook.ReconciliationPullFailedData{IntegrationID: b.IntegrationID, Day: b.FirstDay, BatchID: b.ID,
			WorkflowID: workflowID, Attempts: attempts, Error: b.Error},
	}
}

// ConversionProblem is fx.rate_missing or conversion.stuck (eventType) about the conversion workflow in data,
// announced once per workflow run.
func ConversionProblem(eventType, runID string, at time.Time, data webhook.ConversionProblemData) Event {
	return Event{
		Key: webhook.EventKey(eventType, data.WorkflowID+":"+runID), Type: eventType, At: at, Data: data,
		IntegrationID: data.IntegrationID, EventID: data.EventID, AffiliateID: data.AffiliateID,
	}
}

// DeliveryStuck is delivery.stuck or delivery.unstuck (eventType) of delivery d, for the stuck episode that
// episode names (its workflow run and number), so each is planned once per episode. A delivery that itself
// carries one of them announces nothing (no loops): ok is false.
func DeliveryStuck(eventType, episode string, at time.Time, d store.Delivery, data webhook.DeliveryStuckData) (ev Event, ok bool) {
	if d.EventType == webhook.DeliveryStuck || d.EventType == webhook.DeliveryUnstuck {
		return Event{}, false
	}
	data.DeliveryID, data.EventType, data.AffiliateID = d.ID, d.EventType, d.AffiliateID
	return Event{
		Key: webhook.EventKey(eventType, episode), Type: eventType, At: at, Data: data,
		IntegrationID: d.IntegrationID, EventID: d.EventID, AffiliateID: d.AffiliateID, ConversionID: d.ConversionID,
	}, true
}

// QueueAlarm announces the seq-th change of a queue alarm: ops.queue_depth_exceeded when it fired,
// ops.queue_depth_recovered when it recovered.
func QueueAlarm(t opsalert.Transition, seq int, at time.Time) Event {
	eventType := webhook.OpsQueueDepthRecovered
	if t.Firing {
		eventType = webhook.OpsQueueDepthExceeded
	}
	return Event{
		Key: webhook.EventKey(eventType, t.Key+":"+strconv.Itoa(seq)), Type: eventType, At: at,
		Data: webhook.QueueAlarmData{
			Alarm: t.Key, Scope: t.Scope, TargetID: t.TargetID, Depth: t.Depth, Threshold: t.Threshold, RecoverAt: t.RecoverAt,
		},
	}
}
