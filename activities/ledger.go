package activities

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/commission/commissionrow"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
)

// ledgerSource is the recorded past of one affiliate and integration, read inside the transaction that
// writes the new entries.
type ledgerSource struct {
	tx                         *gorm.DB
	affiliateID, integrationID string
}

func (s ledgerSource) Plans() ([]commission.Plan, error) {
	var rows []store.Plan
	if err := s.tx.Where("affiliate_id = ?", s.affiliateID).Order("effective_from").Find(&rows).Error; err != nil {
		return nil, err
	}
	return commissionrow.Plans(rows)
}

func (s ledgerSource) Parent() (*commission.Parent, error) {
	var aff store.Affiliate
	if err := s.tx.Where("id = ?", s.affiliateID).Take(&aff).Error; err != nil {
		return nil, err
	}
	if aff.ParentID == "" {
		return nil, nil
	}
	return &commission.Parent{AffiliateID: aff.ParentID, ShareBP: aff.ParentShareBP}, nil
}

func (s ledgerSource) Conversion(eventID string) (commission.Recorded, bool, error) {
	var c store.Conversion
	err := s.tx.Where("integration_id = ? AND event_id = ? AND affiliate_id = ?", s.integrationID, eventID, s.affiliateID).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return commission.Recorded{}, false, nil
	}
	return commissionrow.Recorded(c), err == nil, err
}

func (s ledgerSource) PlayerConversions(playerID string) ([]commission.Recorded, error) {
	var rows []store.Conversion
	err := s.tx.Where("integration_id = ? AND affiliate_id = ? AND player_id = ?", s.integrationID, s.affiliateID, playerID).
		Order("occurred_at, event_id").Find(&rows).Error
	return commissionrow.RecordedAll(rows), err
}

func (s ledgerSource) Entry(key string) (*commission.Entry, error) {
	var e store.LedgerEntry
	err := s.tx.Where("source_key = ?", key).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ce := commissionrow.Entry(e)
	return &ce, nil
}

func (s ledgerSource) EventEntries(eventID string) ([]commission.Entry, error) {
	var rows []store.LedgerEntry
	err := s.tx.Where("affiliate_id = ? AND conversion_id IN (?)", s.affiliateID,
		s.tx.Model(&store.Conversion{}).Select("id").Where("integration_id = ? AND event_id = ?", s.integrationID, eventID)).
		Order("source_key").Find(&rows).Error
	return commissionrow.Entries(rows), err
}

// RevShareEntries returns one summed row per period and plan version, from rev_share_periods.
func (s ledgerSource) RevShareEntries() ([]commission.Entry, error) {
	var rows []store.RevSharePeriod
	err := s.tx.Where("affiliate_id = ?", s.affiliateID).Order("period, plan_id").Find(&rows).Error
	return commissionrow.RevSharePeriods(rows), err
}

// addToRevSharePeriod adds a RevShare entry just written to its period's sums.
func addToRevSharePeriod(tx *gorm.DB, e commission.Entry) error {
	return tx.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "affiliate_id"}, {Name: "period"}, {Name: "plan_id"}},
		DoUpdates: clause.Assignments(map[string]any{
			"ngr_minor":     gorm.Expr("rev_share_periods.ngr_minor + ?", e.BaseMinor),
			"written_minor": gorm.Expr("rev_share_periods.written_minor + ?", e.AmountMinor),
		}),
	}).Create(&store.RevSharePeriod{AffiliateID: e.AffiliateID, Period: e.Period, PlanID: e.PlanID, NGRMinor: e.BaseMinor, WrittenMinor: e.AmountMinor}).Error
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
	var r store.FXRate
	err := s.tx.Where("base = ? AND quote = ? AND effective_from <= ?", from, to, at).Order("effective_from DESC").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
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
func (a *Activities) writeLedger(tx *gorm.DB, conv store.Conversion) (int64, string, error) {
	if err := lockLedgerState(tx, conv); err != nil {
		return 0, "", err
	}
	payout, currency, err := a.calculate(tx, conv)
	if err != nil || commission.IsNegative(conv.Event) {
		return payout, currency, err
	}
	var early []store.Conversion
	if err := tx.Where("integration_id = ? AND original_event_id = ? AND affiliate_id IN ('', ?)", conv.IntegrationID, conv.EventID, conv.AffiliateID).
		Order("occurred_at, event_id").Find(&early).Error; err != nil {
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
		if err := tx.Model(&undo).Updates(map[string]any{"affiliate_id": undo.AffiliateID, "player_id": undo.PlayerID}).Error; err != nil {
			return 0, "", err
		}
		if _, _, err := a.calculate(tx, undo); err != nil {
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
// order player, RevShare (after the event's lock) so that two transactions cannot wait for each other:
//   - the player, for a deposit that can qualify for a CPA (the player's history and the CPA entry);
//   - the affiliate's RevShare, for revenue (tiers and carryover read every period's sums).
//
// A chargeback, refund or reversal takes its original's player and the RevShare: it can undo either.
// Conversions of one affiliate that touch neither (distinct players' deposits) do not wait for each other.
func lockLedgerState(tx *gorm.DB, conv store.Conversion) error {
	playerKey := func(player string) string {
		return "player:" + conv.AffiliateID + ":" + conv.IntegrationID + ":" + player
	}
	revShareKey := "revshare:" + conv.AffiliateID
	switch {
	case commission.IsNegative(conv.Event):
		orig, ok, err := ledgerSource{tx: tx, affiliateID: conv.AffiliateID, integrationID: conv.IntegrationID}.Conversion(conv.OriginalEventID)
		if err != nil || !ok {
			return err // not recorded yet: this one has no effect now and is applied under the original's locks
		}
		return store.LockKeys(tx, playerKey(orig.PlayerID), revShareKey)
	case conv.Event == postback.Revenue:
		return store.LockKeys(tx, revShareKey)
	case (conv.Event == postback.FTD || conv.Event == postback.Deposit) && conv.PlayerID != "":
		return store.LockKeys(tx, playerKey(conv.PlayerID))
	}
	return nil
}

// calculate writes the entries the engine gives for one conversion, each with its parent's share, and
// returns the sum of the affiliate's entries it wrote.
func (a *Activities) calculate(tx *gorm.DB, conv store.Conversion) (int64, string, error) {
	src := ledgerSource{tx: tx, affiliateID: conv.AffiliateID, integrationID: conv.IntegrationID}
	in, err := commission.Prepare(src, conv.AffiliateID, conv.IntegrationID, commissionrow.Recorded(conv))
	if errors.Is(err, commission.ErrNoPlan) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	var payout int64
	for _, e := range commission.Calculate(in) {
		written, err := insertEntry(tx, conv.ID, e)
		if err != nil {
			return 0, "", err
		}
		if !written {
			continue
		}
		payout += e.AmountMinor
		if e.Kind == commission.KindRevShare {
			if err := addToRevSharePeriod(tx, e); err != nil {
				return 0, "", err
			}
		}
		if p, ok := commission.SubAffiliateEntry(in.Parent, e); ok {
			if _, err := insertEntry(tx, conv.ID, p); err != nil {
				return 0, "", err
			}
		}
	}
	return payout, in.Plan.Currency, nil
}

// insertEntry writes an entry unless its key exists (ON CONFLICT DO NOTHING) and says whether it did.
func insertEntry(tx *gorm.DB, conversionID string, e commission.Entry) (bool, error) {
	row := commissionrow.LedgerRow(store.NewID("led"), conversionID, e)
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	return res.RowsAffected == 1, res.Error
}

// conversionPayout is what a recorded conversion earned the affiliate, read back for a replayed conversion.
func conversionPayout(tx *gorm.DB, conv store.Conversion) (int64, string, error) {
	var rows []store.LedgerEntry
	if err := tx.Where("conversion_id = ? AND affiliate_id = ?", conv.ID, conv.AffiliateID).Find(&rows).Error; err != nil {
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
