package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/commission/commissionrow"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
)

// ledgerSource is the recorded past of one affiliate and integration, read inside the transaction that
// writes the new entries.
type ledgerSource struct {
	ledger                     store.LedgerQueries
	affiliates                 store.AffiliateQueries
	affiliateID, integrationID string
}

// newLedgerSource reads conv's affiliate and integration inside tx.
func newLedgerSource(ctx context.Context, tx *store.Store, conv store.Conversion) ledgerSource {
	return ledgerSource{ledger: tx.Ledger(ctx), affiliates: tx.Affiliates(ctx), affiliateID: conv.AffiliateID, integrationID: conv.IntegrationID}
}

func (s ledgerSource) Plans() ([]commission.Plan, error) {
	rows, err := s.affiliates.Plans(s.affiliateID)
	if err != nil {
		return nil, err
	}
	return commissionrow.Plans(rows)
}

func (s ledgerSource) Parent() (*commission.Parent, error) {
	aff, err := s.affiliates.Get(s.affiliateID, "affiliate")
	if err != nil {
		return nil, err
	}
	if aff.ParentID == "" {
		return nil, nil
	}
	return &commission.Parent{AffiliateID: aff.ParentID, ShareBP: aff.ParentShareBP}, nil
}

func (s ledgerSource) Conversion(eventID string) (commission.Recorded, bool, error) {
	c, ok, err := s.ledger.Conversion(s.integrationID, eventID, s.affiliateID)
	if !ok {
		return commission.Recorded{}, false, err
	}
	return commissionrow.Recorded(c), true, nil
}

func (s ledgerSource) PlayerConversions(playerID string) ([]commission.Recorded, error) {
	rows, err := s.ledger.PlayerConversions(s.integrationID, s.affiliateID, playerID)
	return commissionrow.RecordedAll(rows), err
}

func (s ledgerSource) Entry(key string) (*commission.Entry, error) {
	e, ok, err := s.ledger.Entry(key)
	if !ok {
		return nil, err
	}
	ce := commissionrow.Entry(e)
	return &ce, nil
}

func (s ledgerSource) EventEntries(eventID string) ([]commission.Entry, error) {
	rows, err := s.ledger.EventEntries(s.affiliateID, s.integrationID, eventID)
	return commissionrow.Entries(rows), err
}

// RevShareEntries returns one summed row per period and plan version, from rev_share_periods.
func (s ledgerSource) RevShareEntries() ([]commission.Entry, error) {
	rows, err := s.ledger.RevSharePeriods(s.affiliateID)
	return commissionrow.RevSharePeriods(rows), err
}

// addToRevSharePeriod adds a RevShare entry just written to its period's sums.
func addToRevSharePeriod(q store.LedgerQueries, e commission.Entry) error {
	return q.AddToRevSharePeriod(store.RevSharePeriod{AffiliateID: e.AffiliateID, Period: e.Period, PlanID: e.PlanID, NGRMinor: e.BaseMinor, WrittenMinor: e.AmountMinor})
}

// VolumePeriod returns the affiliate's volume sums of one period, plan version and instrument rate.
func (s ledgerSource) VolumePeriod(period, planID, instrument string) (commission.VolumePeriod, error) {
	p, err := s.ledger.VolumePeriod(s.affiliateID, period, planID, instrument)
	return commission.VolumePeriod{Period: p.Period, PlanID: p.PlanID, Instrument: p.Instrument, Lots: p.Lots, WrittenMinor: p.WrittenMinor}, err
}

// MissingRate says an event cannot be converted until an admin adds the rate; the conversion waits for it.
type MissingRate struct {
	Base, Quote string
	At          time.Time
}

func (e *MissingRate) Error() string {
	return fmt.Sprintf("no FX rate from %s to %s in force at %s: add one with POST /v1/admin/fx-rates", e.Base, e.Quote, e.At.Format(time.RFC3339))
}

func (s ledgerSource) Rate(from, to string, at time.Time) (int64, error) {
	r, ok, err := s.ledger.Rate(from, to, at)
	if !ok && err == nil {
		return 0, &MissingRate{Base: from, Quote: to, At: at}
	}
	return r.RateE8, err
}

// writeLedger calculates and writes the commission entries of a newly recorded conversion and returns what
// it earned the affiliate. It runs in RecordConversion's transaction: the conversion row and its entries
// commit together, so a conversion that is already recorded already has its entries and is never
// calculated again. It first locks what the calculation reads and others may change (see lockLedgerState).
//
// A chargeback, refund or reversal that arrived before the event it undoes was recorded with no effect; it
// is applied now, right after the original, under its own keys.
func (a *Activities) writeLedger(ctx context.Context, tx *store.Store, conv store.Conversion) (int64, string, error) {
	if err := lockLedgerState(ctx, tx, conv); err != nil {
		return 0, "", err
	}
	payout, currency, err := a.calculate(ctx, tx, conv)
	if err != nil || commission.IsNegative(conv.Event) {
		return payout, currency, err
	}
	q := tx.Ledger(ctx)
	early, err := q.Undoing(conv.IntegrationID, conv.EventID, conv.AffiliateID)
	if err != nil {
		return 0, "", err
	}
	for _, undo := range early {
		if !commission.IsNegative(undo.Event) {
			continue
		}
		// It belongs to the original's affiliate and player, which were unknown when it arrived.
		undo.AffiliateID = conv.AffiliateID
		if undo.PlayerID == "" {
			undo.PlayerID = conv.PlayerID
		}
		if err := q.SetAttribution(undo); err != nil {
			return 0, "", err
		}
		if _, _, err := a.calculate(ctx, tx, undo); err != nil {
			return 0, "", err
		}
	}
	return payout, currency, nil
}

// eventLockKey names the lock that an event and the events undoing it share, so that a chargeback arriving
// while its original is being recorded either is seen by the original or sees it. RecordConversion takes it
// first (PostgreSQL; SQLite has one writer).
func eventLockKey(integrationID string, ev postback.Event) string {
	id := ev.EventID
	if commission.IsNegative(ev.Type) {
		id = ev.OriginalEventID
	}
	return "event:" + integrationID + ":" + id
}

// lockLedgerState locks, for the rest of the transaction, only the recorded state that the conversion's
// calculation reads and that a concurrent conversion could change (PostgreSQL; SQLite has one writer), in the
// order player, monthly sums (after the event's lock) so that two transactions cannot wait for each other:
//   - the player, for a deposit that can qualify for a CPA (the player's history and the CPA entry);
//   - the affiliate's monthly sums, for revenue (RevShare tiers and carryover read every period's sums) and
//     for a trade (volume tiers read the month's lots). One lock covers both: a transaction that writes
//     several corrections (a reconciliation chunk) would otherwise take two affiliate locks in either order.
//
// A chargeback, refund or reversal takes its original's player and the monthly sums: it can undo either.
// Conversions of one affiliate that touch neither (distinct players' deposits) do not wait for each other.
func lockLedgerState(ctx context.Context, tx *store.Store, conv store.Conversion) error {
	keys, err := ledgerLockKeys(ctx, tx, conv)
	if err != nil {
		return err
	}
	return store.LockKeys(tx.DB, keys...)
}

// ledgerLockKeys are the keys lockLedgerState takes for conv, in order. Player keys sort before the monthly
// sums' keys.
func ledgerLockKeys(ctx context.Context, tx *store.Store, conv store.Conversion) ([]string, error) {
	playerKey := func(player string) string {
		return "player:" + conv.AffiliateID + ":" + conv.IntegrationID + ":" + player
	}
	monthlyKey := "revshare:" + conv.AffiliateID // a lock name only: nothing stores it
	switch {
	case commission.IsNegative(conv.Event):
		orig, ok, err := newLedgerSource(ctx, tx, conv).Conversion(conv.OriginalEventID)
		if err != nil || !ok {
			return nil, err // not recorded yet: this one has no effect now and is applied under the original's locks
		}
		return []string{playerKey(orig.PlayerID), monthlyKey}, nil
	case conv.Event == postback.Revenue || conv.Event == postback.Trade:
		return []string{monthlyKey}, nil
	case commission.MovesDeposits(conv.Event) && conv.PlayerID != "":
		return []string{playerKey(conv.PlayerID)}, nil
	}
	return nil, nil
}

// calculate writes the entries the engine gives for one conversion, each with its parent's share, and
// returns the sum of the affiliate's entries it wrote.
func (a *Activities) calculate(ctx context.Context, tx *store.Store, conv store.Conversion) (int64, string, error) {
	src := newLedgerSource(ctx, tx, conv)
	return calculateInto(src, ledgerWriter{src.ledger}, conv)
}

// entryWriter takes the entries a calculation writes: the database at once (ledgerWriter), or a revenue
// run's buffer written together (revenueRun).
type entryWriter interface {
	// insert writes an entry unless its key exists and says whether it did.
	insert(conversionID string, e commission.Entry) (bool, error)
	// addToRevShare adds a RevShare entry just written to its period's sums.
	addToRevShare(e commission.Entry) error
	// addToVolume adds a volume entry just written to its period's sums.
	addToVolume(e commission.Entry) error
}

// calculateInto prepares the conversion from src, calculates it and hands w the entries, each with its
// parent's share; it returns the sum of the affiliate's entries written.
func calculateInto(src commission.Source, w entryWriter, conv store.Conversion) (int64, string, error) {
	in, err := commission.Prepare(src, conv.AffiliateID, conv.IntegrationID, commissionrow.Recorded(conv))
	if errors.Is(err, commission.ErrNoPlan) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	var payout int64
	for _, e := range commission.Calculate(in) {
		written, err := w.insert(conv.ID, e)
		if err != nil {
			return 0, "", err
		}
		if !written {
			continue
		}
		payout += e.AmountMinor
		if e.Kind == commission.KindRevShare {
			if err := w.addToRevShare(e); err != nil {
				return 0, "", err
			}
		}
		if e.Kind == commission.KindVolume {
			if err := w.addToVolume(e); err != nil {
				return 0, "", err
			}
		}
		if p, ok := commission.SubAffiliateEntry(in.Parent, e); ok {
			if _, err := w.insert(conv.ID, p); err != nil {
				return 0, "", err
			}
		}
	}
	return payout, in.Plan.Currency, nil
}

// ledgerWriter writes each entry and its period's sums to the database as it comes.
type ledgerWriter struct{ q store.LedgerQueries }

func (w ledgerWriter) insert(conversionID string, e commission.Entry) (bool, error) {
	return insertEntry(w.q, conversionID, e)
}

func (w ledgerWriter) addToRevShare(e commission.Entry) error { return addToRevSharePeriod(w.q, e) }

func (w ledgerWriter) addToVolume(e commission.Entry) error {
	return w.q.AddToVolumePeriod(store.VolumePeriod{AffiliateID: e.AffiliateID, Period: e.Period, PlanID: e.PlanID, Instrument: e.Instrument, Lots: e.BaseMinor, WrittenMinor: e.AmountMinor})
}

// insertEntry writes an entry unless its key exists (ON CONFLICT DO NOTHING) and says whether it did.
func insertEntry(q store.LedgerQueries, conversionID string, e commission.Entry) (bool, error) {
	row := commissionrow.LedgerRow(store.NewID("led"), conversionID, e)
	return q.InsertEntry(&row)
}

// conversionPayout is what a recorded conversion earned the affiliate, read back for a replayed conversion.
func conversionPayout(q store.LedgerQueries, conv store.Conversion) (int64, string, error) {
	rows, err := q.AffiliateEntries(conv.ID, conv.AffiliateID)
	if err != nil {
		return 0, "", err
	}
	var payout int64
	currency := ""
	for _, r := range rows {
		payout += r.AmountMinor
		currency = r.Currency
	}
	return payout, currency, nil
}
