package eventplan

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// A disabled subscription's deliveries are planned held; the subscription an event excepts gets none.
func TestDeliveriesOfDisabledSubscriptionsAreHeld(t *testing.T) {
	subs := []store.WebhookSubscription{
		{ID: "whs_on", Kind: webhook.KindWebhook, Events: webhook.EndpointDisabled, Enabled: true},
		{ID: "whs_off", Kind: webhook.KindWebhook, Events: webhook.EndpointDisabled},
		{ID: "whs_self", Kind: webhook.KindWebhook, Events: webhook.EndpointDisabled},
	}
	ev := Event{Key: "endpoint.disabled:whs_self:dlv_1", Type: webhook.EndpointDisabled, At: at, Data: map[string]string{}, ExceptTarget: "whs_self"}
	ds, err := ev.Deliveries(subs)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, "whs_on", ds[0].EndpointID)
	require.Equal(t, store.DeliveryPending, ds[0].Status)
	require.Equal(t, "whs_off", ds[1].EndpointID)
	require.Equal(t, store.DeliveryHeld, ds[1].Status)
}

func TestDeliveriesGoToSubscribersInTheirShape(t *testing.T) {
	subs := []store.WebhookSubscription{
		{ID: "whs_a", Kind: webhook.KindWebhook, URL: "https://a.example/h", Events: webhook.AffiliateCreated, Enabled: true},
		{ID: "whs_b", Kind: webhook.KindWebhook, URL: "https://b.example/h", Events: webhook.ConversionRecorded, Enabled: true},
		{ID: "whs_crm", Kind: webhook.KindCRM, URL: "https://crm.example/h", Events: webhook.AffiliateCreated, Enabled: true},
	}
	for _, tc := range []struct {
		name    string
		ev      Event
		wantIDs []string
		crmBody string // a fragment only the CRM shape has, when a CRM subscription receives it
	}{
		{
			name:    "webhook and CRM shapes",
			ev:      AffiliateCreated(store.Affiliate{ID: "aff_1", Name: "Ann", CreatedAt: at}, store.Plan{Type: "cpa", AmountMinor: 5000, Currency: "EUR"}, "https://t.example/?a={affiliate_id}"),
			wantIDs: []string{webhook.DeliveryID(AffiliateCreatedKey("aff_1"), "whs_a"), webhook.DeliveryID(AffiliateCreatedKey("aff_1"), "whs_crm")},
			crmBody: `"tags"`,
		},
		{
			name:    "an event without a CRM shape skips CRM subscriptions",
			ev:      Event{Key: webhook.EventKey(webhook.AffiliateCreated, "x"), Type: webhook.AffiliateCreated, At: at, Data: map[string]string{"k": "v"}},
			wantIDs: []string{webhook.DeliveryID(webhook.EventKey(webhook.AffiliateCreated, "x"), "whs_a")},
		},
		{
			name:    "nobody asked",
			ev:      Event{Key: "commission.report:r", Type: webhook.CommissionReport, At: at, Data: json.RawMessage(`{}`)},
			wantIDs: nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := tc.ev.Deliveries(subs)
			require.NoError(t, err)
			var ids []string
			for _, d := range ds {
				ids = append(ids, d.ID)
				require.Equal(t, store.DeliveryPending, d.Status)
				require.Equal(t, store.DeliveryKindWebhook, d.Kind)
				require.Equal(t, tc.ev.Key, d.EventKey)
				require.Equal(t, "POST", d.Method)
				if d.EndpointID == "whs_crm" {
					require.Contains(t, d.Body, tc.crmBody)
				}
			}
			require.Equal(t, tc.wantIDs, ids)
			again, err := tc.ev.Deliveries(subs)
			require.NoError(t, err)
			require.Equal(t, ds, again, "planning is deterministic: a retry plans the same rows")
		})
	}
}

func TestEventPayloads(t *testing.T) {
	conv := store.Conversion{ID: "cnv_1", IntegrationID: "int_1", EventID: "ev_1", Event: "deposit", AffiliateID: "aff_1",
		AmountMinor: 1250, Currency: "EUR", Sub2: "s2", OccurredAt: at, CreatedAt: at.Add(time.Second)}
	for _, tc := range []struct {
		name     string
		ev       Event
		wantType string
		wantData string
	}{
		{"conversion recorded", ConversionRecorded(conv), webhook.ConversionRecorded, `"amount":{"amount":"12.50","currency":"EUR"}`},
		{"subs by name", ConversionRecorded(conv), webhook.ConversionRecorded, `"subs":{"sub2":"s2"}`},
		{"commission", Commission(store.LedgerEntry{ID: "led_1", AffiliateID: "aff_1", Kind: "cpa", AmountMinor: 5000, Currency: "EUR"}, conv, ""),
			webhook.CommissionCalculated, `"commission":{"amount":"50.00","currency":"EUR"}`},
		{"an adjustment reverses", Commission(store.LedgerEntry{ID: "led_2", AffiliateID: "aff_1", Kind: "cpa", AmountMinor: -5000, Currency: "EUR", OriginalKey: "k"}, conv, "led_1"),
			webhook.CommissionReversed, `"reverses_ledger_entry_id":"led_1"`},
		{"a failed pull names the day and the attempts", ReconciliationPullFailed(store.ReconciliationBatch{ID: "rcb_1", IntegrationID: "int_1",
			FirstDay: "2026-10-01", Error: "fetch 2026-10-01: the operator answered 500 Internal Server Error"}, "reconciliation-pull:int_1:2026-10-01", 6, at),
			webhook.ReconciliationPullFailed, `"day":"2026-10-01","batch_id":"rcb_1","workflow_id":"reconciliation-pull:int_1:2026-10-01","attempts":6`},
		{"report carries the stored document", CommissionReport(store.CommissionReport{ID: "rpt_1", AffiliateID: "aff_1", Body: `{"rows":[]}`, CreatedAt: at}),
			webhook.CommissionReport, `"data":{"rows":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.wantType, tc.ev.Type)
			body, err := webhook.Marshal(tc.ev.Type, tc.ev.At, tc.ev.Data)
			require.NoError(t, err)
			require.Contains(t, body, tc.wantData)
		})
	}
}

func TestCountFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		sub  Target
		gone bool
		want Failure
	}{
		{"below the limit", SubscriptionTarget(store.WebhookSubscription{Enabled: true, ConsecutiveFailures: 1}), false, Failure{ConsecutiveFailures: 2}},
		{"at the limit", SubscriptionTarget(store.WebhookSubscription{Enabled: true, ConsecutiveFailures: 4}), false,
			Failure{ConsecutiveFailures: 5, Disable: true, Reason: "disabled after 5 deliveries in a row needed review"}},
		{"a postback endpoint at the limit", EndpointTarget(store.PostbackEndpoint{Enabled: true, ConsecutiveFailures: 4}), false,
			Failure{ConsecutiveFailures: 5, Disable: true, Reason: "disabled after 5 deliveries in a row needed review"}},
		{"gone at once", SubscriptionTarget(store.WebhookSubscription{Enabled: true}), true, Failure{ConsecutiveFailures: 1, Disable: true, Reason: "receiver answered 410 Gone"}},
		{"already disabled", SubscriptionTarget(store.WebhookSubscription{Enabled: false, ConsecutiveFailures: 9}), true, Failure{ConsecutiveFailures: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, CountFailure(tc.sub, tc.gone, 5))
		})
	}
}

func TestReviewEvents(t *testing.T) {
	d := store.Delivery{ID: "dlv_1", Kind: store.DeliveryKindWebhook, EndpointID: "whs_1", EventType: webhook.ConversionRecorded, Attempts: 3, StatusReason: "HTTP 503"}
	sub := SubscriptionTarget(store.WebhookSubscription{ID: "whs_1", URL: "https://a.example/h"})
	ep := EndpointTarget(store.PostbackEndpoint{ID: "pbe_1", AffiliateID: "aff_1", URL: "https://t.example/pb"})
	off := CountFailure(Target{Enabled: true}, true, 5)
	on := CountFailure(Target{Enabled: true}, false, 5)
	for _, tc := range []struct {
		name                    string
		d                       store.Delivery
		sub                     *Target
		failure                 *Failure
		wantReview, wantDisable bool
	}{
		{"postback", store.Delivery{ID: "dlv_2", Kind: store.DeliveryKindPostback, EventType: "deposit"}, nil, nil, true, false},
		{"webhook still enabled", d, &sub, &on, true, false},
		{"webhook disabled", d, &sub, &off, true, true},
		{"postback endpoint disabled", store.Delivery{ID: "dlv_4", Kind: store.DeliveryKindPostback, EndpointID: "pbe_1", EventType: "ftd"}, &ep, &off, true, true},
		{"a review of a review announces nothing more", store.Delivery{ID: "dlv_3", Kind: store.DeliveryKindWebhook, EventType: webhook.DeliveryNeedsReview}, nil, nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ReviewEvents(tc.d, tc.sub, tc.failure, at)
			require.Equal(t, tc.wantReview, r.NeedsReview != nil)
			require.Equal(t, tc.wantDisable, r.EndpointOff != nil)
			require.Equal(t, tc.wantDisable, r.DisabledReason != "")
			require.Len(t, r.Keys, 2)
		})
	}
	r := ReviewEvents(d, &sub, &off, at)
	require.Equal(t, webhook.EventKey(webhook.DeliveryNeedsReview, "dlv_1:3"), r.NeedsReview.Key)
	require.Equal(t, webhook.EventKey(webhook.EndpointDisabled, "whs_1:dlv_1"), r.EndpointOff.Key)
	require.Equal(t, "whs_1", r.EndpointOff.ExceptTarget, "a disabled subscription is not told about itself")
	require.Equal(t, webhook.EndpointDisabledData{Kind: "webhook", SubscriptionID: "whs_1", URL: "https://a.example/h", Reason: "receiver answered 410 Gone", ConsecutiveFailures: 1}, r.EndpointOff.Data)
	r = ReviewEvents(store.Delivery{ID: "dlv_4", Kind: store.DeliveryKindPostback, EndpointID: "pbe_1"}, &ep, &off, at)
	require.Equal(t, webhook.EndpointDisabledData{Kind: "postback", EndpointID: "pbe_1", AffiliateID: "aff_1", URL: "https://t.example/pb", Reason: "receiver answered 410 Gone", ConsecutiveFailures: 1}, r.EndpointOff.Data)
	require.Equal(t, "aff_1", r.EndpointOff.AffiliateID)
}

func TestDeliveryStuck(t *testing.T) {
	data := webhook.DeliveryStuckData{WorkflowID: "delivery:dlv_1", State: "needs_review", Reason: "database is down", StuckSince: at}
	for _, tc := range []struct {
		name      string
		eventType string
		want      bool
	}{
		{webhook.ConversionRecorded, webhook.DeliveryStuck, true},
		{webhook.DeliveryNeedsReview, webhook.DeliveryUnstuck, true},
		{webhook.DeliveryStuck, webhook.DeliveryStuck, false},
		{webhook.DeliveryUnstuck, webhook.DeliveryUnstuck, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := store.Delivery{ID: "dlv_1", EventType: tc.name, AffiliateID: "aff_1", IntegrationID: "int_1"}
			ev, ok := DeliveryStuck(tc.eventType, "delivery:dlv_1:run:1", at, d, data)
			require.Equal(t, tc.want, ok, "a delivery of delivery.stuck or delivery.unstuck announces nothing (no loops)")
			if !ok {
				return
			}
			require.Equal(t, webhook.EventKey(tc.eventType, "delivery:dlv_1:run:1"), ev.Key)
			require.Equal(t, "aff_1", ev.AffiliateID)
			got := ev.Data.(webhook.DeliveryStuckData)
			require.Equal(t, "dlv_1", got.DeliveryID)
			require.Equal(t, tc.name, got.EventType)
			require.Equal(t, "database is down", got.Reason)
		})
	}
}
