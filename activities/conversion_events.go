package activities

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// conversionRecorded is the conversion.recorded event of a stored conversion; its timestamp is when it was recorded.
func conversionRecorded(c store.Conversion) WebhookEvent {
	data := webhook.ConversionData{
		ConversionID: c.ID, IntegrationID: c.IntegrationID, EventID: c.EventID, Event: c.Event,
		AffiliateID: c.AffiliateID, PlayerID: c.PlayerID, ClickID: c.ClickID, OccurredAt: c.OccurredAt.UTC(),
	}
	if c.Currency != "" {
		data.Amount = &webhook.Money{Amount: money.Format(c.AmountMinor, c.Currency), Currency: c.Currency}
	}
	for i, s := range []string{c.Sub1, c.Sub2, c.Sub3, c.Sub4, c.Sub5} {
		if s != "" {
			if data.Subs == nil {
				data.Subs = map[string]string{}
			}
			data.Subs[postback.SubFields[i]] = s
		}
	}
	return WebhookEvent{
		Key: webhook.EventKey(webhook.ConversionRecorded, c.ID), Type: webhook.ConversionRecorded, At: c.CreatedAt, Data: data,
		IntegrationID: c.IntegrationID, EventID: c.EventID, AffiliateID: c.AffiliateID, ConversionID: c.ID,
	}
}

// commissionEvent announces a ledger entry: commission.calculated, or commission.reversed for an adjustment
// (a clawback or correction linked to the entry it adjusts, whose id it names).
func commissionEvent(e store.LedgerEntry, c store.Conversion, reverses string) WebhookEvent {
	eventType := webhook.CommissionCalculated
	if e.OriginalKey != "" {
		eventType = webhook.CommissionReversed
	}
	return WebhookEvent{
		Key: webhook.EventKey(eventType, e.ID), Type: eventType, At: e.CreatedAt,
		IntegrationID: c.IntegrationID, EventID: c.EventID, AffiliateID: e.AffiliateID, ConversionID: c.ID,
		Data: webhook.CommissionData{
			LedgerEntryID: e.ID, AffiliateID: e.AffiliateID, ConversionID: c.ID, IntegrationID: c.IntegrationID,
			EventID: c.EventID, Kind: e.Kind, Commission: webhook.Money{Amount: money.Format(e.AmountMinor, e.Currency), Currency: e.Currency},
			ReversesLedgerEntryID: reverses,
		},
	}
}

// planCommissionEvents announces every ledger entry of the conversion and of the chargebacks, refunds and
// reversals of it that arrived first and were applied just now. Announcing is keyed by entry, so a replay
// plans nothing twice.
func planCommissionEvents(tx *gorm.DB, conv store.Conversion) ([]DeliveryRef, error) {
	var convs []store.Conversion
	if err := tx.Where("id = ? OR (integration_id = ? AND original_event_id = ?)", conv.ID, conv.IntegrationID, conv.EventID).
		Order("id").Find(&convs).Error; err != nil {
		return nil, err
	}
	var refs []DeliveryRef
	for _, c := range convs {
		var entries []store.LedgerEntry
		if err := tx.Where("conversion_id = ?", c.ID).Order("created_at, id").Find(&entries).Error; err != nil {
			return nil, err
		}
		for _, e := range entries {
			reverses := ""
			if e.OriginalKey != "" {
				var original store.LedgerEntry
				if err := tx.Select("id").Where("source_key = ?", e.OriginalKey).Take(&original).Error; err != nil {
					return nil, fmt.Errorf("entry %s adjusts %s: %w", e.ID, e.OriginalKey, err)
				}
				reverses = original.ID
			}
			planned, err := PlanWebhookEvent(tx, commissionEvent(e, c, reverses))
			if err != nil {
				return nil, err
			}
			refs = append(refs, planned...)
		}
	}
	return refs, nil
}
