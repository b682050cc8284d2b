package activities

import (
	"context"
	"fmt"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// planCommissionEvents announces every ledger entry of the conversion and of the chargebacks, refunds and
// reversals of it that arrived first and were applied just now, and returns the conversion's own entries.
// Announcing is keyed by entry, so a replay plans nothing twice. With no subscription to commission events it
// reads nothing and returns no entries.
func planCommissionEvents(ctx context.Context, tx *store.Store, subs *recordingSubscriptions, conv store.Conversion) ([]DeliveryRef, []store.LedgerEntry, error) {
	if wanted, err := subs.wanted(webhook.CommissionCalculated, webhook.CommissionReversed); !wanted || err != nil {
		return nil, nil, err
	}
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
			planned, err := subs.plan(eventplan.Commission(e, c, reverses))
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
// nothing twice. An event without a player announces nothing, nor does any event with no subscription to lead
// events. entries are conv's own ledger entries.
func planLeadEvent(ctx context.Context, tx *store.Store, subs *recordingSubscriptions, conv, first store.Conversion, entries func() ([]store.LedgerEntry, error)) ([]DeliveryRef, error) {
	if conv.PlayerID == "" {
		return nil, nil
	}
	if wanted, err := subs.wanted(webhook.LeadAttributed, webhook.LeadUpdated); !wanted || err != nil {
		return nil, err
	}
	own, err := entries()
	if err != nil {
		return nil, err
	}
	status := eventplan.LeadStatus(conv, own)
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
	return subs.plan(*ev)
}
