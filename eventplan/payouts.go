package eventplan

import (
	"time"

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/store"
)

// PayoutEvent is one event of a payout (payout.requested with the statement's lines, payout.reminder); keyed by
// the payout, so it is planned once however often a workflow step runs.
func PayoutEvent(p store.Payout, lines []store.PayoutLine, eventType string, at time.Time) Event {
	return Event{Key: eventType + ":" + p.ID, Type: eventType, At: at, AffiliateID: p.AffiliateID, Data: PayoutDocument(p, lines)}
}

// PayoutOutcome is the event announcing a confirmed payout: payout.processed when paid, payout.failed (with
// the reason) when failed, at the confirmation. ok is false for a payout not confirmed.
func PayoutOutcome(p store.Payout) (Event, bool) {
	eventType := map[string]string{payout.Paid: payout.EventProcessed, payout.Failed: payout.EventFailed}[p.Status]
	if eventType == "" || p.ConfirmedAt == nil {
		return Event{}, false
	}
	return PayoutEvent(p, nil, eventType, *p.ConfirmedAt), true
}

// PayoutDocument renders a payout, and its lines when given, as the API and the webhooks show it.
func PayoutDocument(p store.Payout, lines []store.PayoutLine) payout.StatementData {
	f := func(v int64) string { return money.Format(v, p.Currency) }
	d := payout.StatementData{
		PayoutID: p.ID, AffiliateID: p.AffiliateID, Cycle: p.Cycle, Period: p.Period, PeriodStart: p.PeriodStart.UTC(),
		PeriodEnd: p.PeriodEnd.UTC(), Status: p.Status, Reason: p.Reason, Amount: payout.Money{Amount: f(p.NetMinor), Currency: p.Currency},
		Totals: payout.TotalsData{
			CPA: f(p.CPAMinor), RevShare: f(p.RevShareMinor), SubAffiliate: f(p.SubAffiliateMinor), Adjustments: f(p.AdjustmentsMinor), Net: f(p.NetMinor),
		},
		CreatedAt: p.CreatedAt.UTC(),
	}
	if p.ExternalRef != nil {
		d.ExternalRef = *p.ExternalRef
	}
	if p.PaidAt != nil {
		at := p.PaidAt.UTC()
		d.PaidAt = &at
	}
	for _, l := range lines {
		d.Lines = append(d.Lines, payout.LineData{
			LedgerEntryID: l.LedgerEntryID, Kind: l.Kind, EventID: l.EventID, PlayerID: l.PlayerID, EventAt: l.EventAt.UTC(), Amount: f(l.AmountMinor),
		})
	}
	return d
}
