package activities

import (
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

// commissionCalculated is the commission.calculated event of a ledger entry a conversion earned.
func commissionCalculated(e store.LedgerEntry, c store.Conversion) WebhookEvent {
	return WebhookEvent{
		Key: webhook.EventKey(webhook.CommissionCalculated, e.ID), Type: webhook.CommissionCalculated, At: e.CreatedAt,
		IntegrationID: c.IntegrationID, EventID: c.EventID, AffiliateID: e.AffiliateID, ConversionID: c.ID,
		Data: webhook.CommissionData{
			LedgerEntryID: e.ID, AffiliateID: e.AffiliateID, ConversionID: c.ID, IntegrationID: c.IntegrationID,
			EventID: c.EventID, Kind: e.Kind, Commission: webhook.Money{Amount: money.Format(e.AmountMinor, e.Currency), Currency: e.Currency},
		},
	}
}
