package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/postbackurl"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// RecordConversionInput is one accepted postback.
type RecordConversionInput struct {
	IntegrationID string
	WorkflowID    string
	Event         postback.Event
}

// DeliveryRef names a delivery the conversion workflow must start.
type DeliveryRef struct {
	ID          string
	EndpointID  string
	AffiliateID string
}

// RecordConversionResult says what was recorded. Policy is the worker's delivery policy, recorded in the
// workflow history so that every delivery of this conversion runs by the same rules.
type RecordConversionResult struct {
	ConversionID string
	PayoutMinor  int64
	Currency     string
	Deliveries   []DeliveryRef
	Policy       retrypolicy.Policy
}

// DeliveryID is the stable id of the delivery of one event to one endpoint; receivers see it as idempotency key.
func DeliveryID(integrationID, eventID, endpointID string) string {
	sum := sha256.Sum256([]byte(integrationID + "\x00" + eventID + "\x00" + endpointID))
	return "dlv_" + hex.EncodeToString(sum[:12])
}

// RecordConversion stores the conversion, its ledger entries and its pending deliveries in one transaction.
// Every insert is keyed, so running it again (activity retry, workflow reset) writes nothing new.
func (a *Activities) RecordConversion(ctx context.Context, in RecordConversionInput) (RecordConversionResult, error) {
	res := RecordConversionResult{Policy: a.Policy}
	err := a.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		conv, err := upsertConversion(tx, in)
		if err != nil {
			return err
		}
		res.ConversionID = conv.ID
		if res.Deliveries, err = PlanWebhookEvent(tx, conversionRecorded(conv)); err != nil {
			return err
		}

		var aff store.Affiliate
		if in.Event.AffiliateID == "" {
			return nil
		}
		if err := tx.Where("id = ?", in.Event.AffiliateID).Take(&aff).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return nil // unattributed: recorded, earns nothing
			}
			return err
		}
		earned, currency, err := writeLedger(tx, conv, in)
		if err != nil {
			return err
		}
		res.Currency = currency
		for _, e := range earned {
			res.PayoutMinor += e.AmountMinor
			refs, err := PlanWebhookEvent(tx, commissionCalculated(e, conv))
			if err != nil {
				return err
			}
			res.Deliveries = append(res.Deliveries, refs...)
		}
		postbacks, err := planDeliveries(tx, conv, in, res.PayoutMinor, res.Currency)
		res.Deliveries = append(postbacks, res.Deliveries...)
		return err
	})
	if err != nil {
		return RecordConversionResult{}, fmt.Errorf("record conversion %s: %w", in.WorkflowID, err)
	}
	return res, nil
}

func upsertConversion(tx *gorm.DB, in RecordConversionInput) (store.Conversion, error) {
	ev := in.Event
	conv := store.Conversion{
		ID: store.NewID("cnv"), IntegrationID: in.IntegrationID, EventID: ev.EventID, Event: ev.Type,
		AffiliateID: ev.AffiliateID, PlayerID: ev.PlayerID, ClickID: ev.ClickID,
		AmountMinor: ev.AmountMinor, Currency: ev.Currency,
		Sub1: ev.Subs[0], Sub2: ev.Subs[1], Sub3: ev.Subs[2], Sub4: ev.Subs[3], Sub5: ev.Subs[4],
		OccurredAt: ev.OccurredAt, WorkflowID: in.WorkflowID,
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&conv).Error; err != nil {
		return conv, err
	}
	// The insert did nothing when this event was recorded before: continue with the stored row.
	err := tx.Where("integration_id = ? AND event_id = ?", in.IntegrationID, ev.EventID).Take(&conv).Error
	return conv, err
}

// writeLedger writes the commission entries the conversion earns and returns the entries this conversion
// earned, in the plan's currency.
func writeLedger(tx *gorm.DB, conv store.Conversion, in RecordConversionInput) ([]store.LedgerEntry, string, error) {
	var plan store.Plan
	err := tx.Where("affiliate_id = ? AND effective_from <= ?", in.Event.AffiliateID, in.Event.OccurredAt).
		Order("effective_from DESC").Take(&plan).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	entries := commission.Calculate(commission.Plan{Type: plan.Type, AmountMinor: plan.AmountMinor, Currency: plan.Currency}, in.IntegrationID, in.Event)
	var earned []store.LedgerEntry
	for _, e := range entries {
		row := store.LedgerEntry{
			ID: store.NewID("led"), AffiliateID: in.Event.AffiliateID, SourceKey: e.SourceKey,
			ConversionID: conv.ID, Kind: e.Kind, AmountMinor: e.AmountMinor, Currency: e.Currency,
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return nil, "", err
		}
		// The entry may belong to an earlier conversion (a second FTD of the same player): it pays this one nothing.
		if err := tx.Where("source_key = ?", e.SourceKey).Take(&row).Error; err != nil {
			return nil, "", err
		}
		if row.ConversionID == conv.ID {
			earned = append(earned, row)
		}
	}
	return earned, plan.Currency, nil
}

// planDeliveries creates one delivery per enabled endpoint of the affiliate subscribed to the event, with the
// URL (and body) rendered now, so every retry sends the same thing.
func planDeliveries(tx *gorm.DB, conv store.Conversion, in RecordConversionInput, payout int64, payoutCurrency string) ([]DeliveryRef, error) {
	var endpoints []store.PostbackEndpoint
	if err := tx.Where("affiliate_id = ? AND enabled = ?", in.Event.AffiliateID, true).Order("id").Find(&endpoints).Error; err != nil {
		return nil, err
	}
	values := macroValues(in.Event, payout, payoutCurrency)
	var refs []DeliveryRef
	for _, ep := range endpoints {
		if !webhook.Subscribed(ep.Events, in.Event.Type) {
			continue
		}
		d := store.Delivery{
			ID: DeliveryID(in.IntegrationID, in.Event.EventID, ep.ID), Kind: store.DeliveryKindPostback, EndpointID: ep.ID,
			EventType:    in.Event.Type,
			ConversionID: conv.ID, IntegrationID: in.IntegrationID, AffiliateID: in.Event.AffiliateID,
			EventID: in.Event.EventID, Method: ep.Method, URL: postbackurl.Render(ep.URL, values),
			Status: store.DeliveryPending,
		}
		if ep.Method == "POST" {
			body, err := json.Marshal(values)
			if err != nil {
				return nil, err
			}
			d.Body = string(body)
		}
		pending, err := insertDelivery(tx, &d)
		if err != nil {
			return nil, err
		}
		if pending {
			refs = append(refs, DeliveryRef{ID: d.ID, EndpointID: ep.ID, AffiliateID: d.AffiliateID})
		}
	}
	return refs, nil
}

func macroValues(ev postback.Event, payout int64, payoutCurrency string) map[string]string {
	currency := payoutCurrency
	if currency == "" {
		currency = ev.Currency
	}
	v := map[string]string{
		postbackurl.ClickID:       ev.ClickID,
		postbackurl.Event:         ev.Type,
		postbackurl.EventID:       ev.EventID,
		postbackurl.TransactionID: ev.EventID,
		postbackurl.PlayerID:      ev.PlayerID,
		postbackurl.AffiliateID:   ev.AffiliateID,
		postbackurl.Currency:      currency,
		postbackurl.Payout:        "0",
		postbackurl.Timestamp:     strconv.FormatInt(ev.OccurredAt.Unix(), 10),
	}
	if currency != "" {
		v[postbackurl.Payout] = money.Format(payout, currency)
	}
	if ev.Currency != "" {
		v[postbackurl.Amount] = money.Format(ev.AmountMinor, ev.Currency)
	}
	for i, s := range ev.Subs {
		v[postback.SubFields[i]] = s
	}
	return v
}
