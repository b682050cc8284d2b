package activities

import (
	"context"
	"fmt"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/store"
)

// planCommissionEvents announces every ledger entry of the conversion and of the chargebacks, refunds and
// reversals of it that arrived first and were applied just now, and returns the conversion's own entries.
// Announcing is keyed by entry, so a replay plans nothing twice.
func planCommissionEvents(ctx context.Context, tx *store.Store, conv store.Conversion) ([]DeliveryRef, []store.LedgerEntry, error) {
	convs, err := tx.Conversions(ctx).WithUndoing(conv)
	if err != nil {
		return nil, nil, err
	}
	ledger := tx.Ledger(ctx)
	var refs []DeliveryRef
	var own []store.LedgerEntry
	for _, c := range convs {
		entries, err := ledger.ConversionEntries(c.ID)
		if err != nil {
			return nil, nil, err
		}
		if c.ID == conv.ID {
			own = entries
		}
		for _, e := range entries {
			reverses := ""
			if e.OriginalKey != "" {
				if reverses, err = ledger.EntryID(e.OriginalKey); err != nil {
					return nil, nil, fmt.Errorf("entry %s adjusts %s: %w", e.ID, e.OriginalKey, err)
				}
			}
			planned, err := planWebhookEvent(tx.DB, eventplan.Commission(e, c, reverses))
			if err != nil {
				return nil, nil, err
			}
			refs = append(refs, planned...)
		}
	}
	return refs, own, nil
}

// planLeadEvent announces the player of conv to the CRM: lead.attributed when conv is first (the player's
// first attributed conversion), lead.updated when a later conv changed its status. Keyed, so a replay plans
// nothing twice. An event without a player announces nothing.
func planLeadEvent(ctx context.Context, tx *store.Store, conv, first store.Conversion, entries []store.LedgerEntry) ([]DeliveryRef, error) {
	if conv.PlayerID == "" {
		return nil, nil
	}
	status := eventplan.LeadStatus(conv, entries)
	if conv.ID != first.ID && status == "" {
		return nil, nil // a later event that changes nothing: no query for the click
	}
	landingURL := ""
	if first.ClickID != "" {
		click, ok, err := tx.Conversions(ctx).Click(first.IntegrationID, first.ClickID)
		if err != nil {
			return nil, err
		}
		if ok {
			landingURL = click.LandingURL
		}
	}
	ev := eventplan.Lead(conv, first, status, landingURL)
	if ev == nil {
		return nil, nil
	}
	return planWebhookEvent(tx.DB, *ev)
}
