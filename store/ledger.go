package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// LedgerQueries are the typed queries of a conversion's commission ledger: the recorded past the calculation
// reads (an affiliate's conversions, entries, RevShare sums, FX rates) and the entries it writes, bound to one
// context. RecordConversion runs them inside its transaction.
type LedgerQueries struct{ db *gorm.DB }

// Ledger returns the ledger queries for ctx.
func (s *Store) Ledger(ctx context.Context) LedgerQueries {
	return LedgerQueries{db: s.DB.WithContext(ctx)}
}

// found turns gorm's missing row into found false.
func found(err error) (bool, error) {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Conversion loads the integration's event recorded for the affiliate; found false when there is none.
func (q LedgerQueries) Conversion(integrationID, eventID, affiliateID string) (Conversion, bool, error) {
	var c Conversion
	ok, err := found(q.db.Where("integration_id = ? AND event_id = ? AND affiliate_id = ?", integrationID, eventID, affiliateID).Take(&c).Error)
	return c, ok, err
}

// PlayerConversions lists the player's conversions of the integration recorded for the affiliate, by time
// and event id.
func (q LedgerQueries) PlayerConversions(integrationID, affiliateID, playerID string) ([]Conversion, error) {
	var rows []Conversion
	// Pending and declined conversions earn nothing, so they count towards nothing (a first deposit, a sum).
	// The affiliate is matched here, not in SQL: with affiliate_id in the WHERE clause SQLite's planner (no
	// statistics) walks idx_conversion_affiliate_occurred, every conversion of the affiliate on every event,
	// instead of the player's few by idx_conversion_player.
	err := q.db.Where("integration_id = ? AND player_id = ? AND status = ?", integrationID, playerID, "approved").
		Order("occurred_at, event_id").Find(&rows).Error
	return slices.DeleteFunc(rows, func(c Conversion) bool { return c.AffiliateID != affiliateID }), err
}

// Entry loads the ledger entry with the source key; found false when there is none.
func (q LedgerQueries) Entry(sourceKey string) (LedgerEntry, bool, error) {
	var e LedgerEntry
	ok, err := found(q.db.Where("source_key = ?", sourceKey).Take(&e).Error)
	return e, ok, err
}

// EntryID returns the id of the ledger entry with the source key.
func (q LedgerQueries) EntryID(sourceKey string) (string, error) {
	var e LedgerEntry
	err := q.db.Select("id").Where("source_key = ?", sourceKey).Take(&e).Error
	return e.ID, err
}

// EventEntries lists the affiliate's entries of the integration's event, by source key.
func (q LedgerQueries) EventEntries(affiliateID, integrationID, eventID string) ([]LedgerEntry, error) {
	var rows []LedgerEntry
	err := q.db.Where("affiliate_id = ? AND conversion_id IN (?)", affiliateID,
		q.db.Model(&Conversion{}).Select("id").Where("integration_id = ? AND event_id = ?", integrationID, eventID)).
		Order("source_key").Find(&rows).Error
	return rows, err
}

// ConversionEntries lists a conversion's entries, by creation.
func (q LedgerQueries) ConversionEntries(conversionID string) ([]LedgerEntry, error) {
	var rows []LedgerEntry
	err := q.db.Where("conversion_id = ?", conversionID).Order("created_at, id").Find(&rows).Error
	return rows, err
}

// AffiliateEntries lists the entries of a conversion that belong to the affiliate (not its parent's share).
func (q LedgerQueries) AffiliateEntries(conversionID, affiliateID string) ([]LedgerEntry, error) {
	var rows []LedgerEntry
	err := q.db.Where("conversion_id = ? AND affiliate_id = ?", conversionID, affiliateID).Find(&rows).Error
	return rows, err
}

// InsertEntry writes an entry unless its source key exists (ON CONFLICT DO NOTHING) and says whether it did.
func (q LedgerQueries) InsertEntry(e *LedgerEntry) (bool, error) {
	res := q.db.Clauses(clause.OnConflict{DoNothing: true}).Create(e)
	return res.RowsAffected == 1, res.Error
}

// InsertEntries writes entries whose keys the caller checked are free, in one statement per 500 (a run of
// revenue corrections); a key taken meanwhile fails the insert.
func (q LedgerQueries) InsertEntries(entries []LedgerEntry) error {
	return q.db.CreateInBatches(entries, 500).Error
}

// TakenKeys returns which of the source keys are written already.
func (q LedgerQueries) TakenKeys(sourceKeys []string) ([]string, error) {
	var taken []string
	err := q.db.Model(&LedgerEntry{}).Where("source_key IN ?", sourceKeys).Pluck("source_key", &taken).Error
	return taken, err
}

// ConversionMoved is what one conversion's entries sum to in one currency, whoever's ledger they are on.
type ConversionMoved struct {
	ConversionID string
	Currency     string
	Minor        int64
}

// ConversionsMoved sums the entries of each conversion by currency.
func (q LedgerQueries) ConversionsMoved(conversionIDs []string) ([]ConversionMoved, error) {
	var out []ConversionMoved
	err := q.db.Model(&LedgerEntry{}).Select("conversion_id, currency, SUM(amount_minor) AS minor").
		Where("conversion_id IN ?", conversionIDs).Group("conversion_id, currency").Order("conversion_id, currency").Scan(&out).Error
	return out, err
}

// RevSharePeriods lists the affiliate's summed RevShare rows, by period and plan version.
func (q LedgerQueries) RevSharePeriods(affiliateID string) ([]RevSharePeriod, error) {
	var rows []RevSharePeriod
	err := q.db.Where("affiliate_id = ?", affiliateID).Order("period, plan_id").Find(&rows).Error
	return rows, err
}

// AddToRevSharePeriod adds p's NGR and written amount to its period's sums, creating the row the first time.
func (q LedgerQueries) AddToRevSharePeriod(p RevSharePeriod) error {
	return q.db.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "affiliate_id"}, {Name: "period"}, {Name: "plan_id"}},
		DoUpdates: clause.Assignments(map[string]any{
			"ngr_minor":     gorm.Expr("rev_share_periods.ngr_minor + ?", p.NGRMinor),
			"written_minor": gorm.Expr("rev_share_periods.written_minor + ?", p.WrittenMinor),
		}),
	}).Create(&p).Error
}

// VolumePeriod loads the affiliate's volume sums of one period, plan version and instrument rate (zero when
// none).
func (q LedgerQueries) VolumePeriod(affiliateID, period, planID, instrument string) (VolumePeriod, error) {
	p := VolumePeriod{AffiliateID: affiliateID, Period: period, PlanID: planID, Instrument: instrument}
	_, err := found(q.db.Where(&p).Take(&p).Error)
	return p, err
}

// AddToVolumePeriod adds p's lots and written amount to its period's sums, creating the row the first time.
func (q LedgerQueries) AddToVolumePeriod(p VolumePeriod) error {
	return q.db.Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "affiliate_id"}, {Name: "period"}, {Name: "plan_id"}, {Name: "instrument"}},
		DoUpdates: clause.Assignments(map[string]any{
			"lots":          gorm.Expr("volume_periods.lots + ?", p.Lots),
			"written_minor": gorm.Expr("volume_periods.written_minor + ?", p.WrittenMinor),
		}),
	}).Create(&p).Error
}

// Rate loads the base/quote rate in force at at (the newest effective then); found false when there is none.
func (q LedgerQueries) Rate(base, quote string, at time.Time) (FXRate, bool, error) {
	var r FXRate
	ok, err := found(q.db.Where("base = ? AND quote = ? AND effective_from <= ?", base, quote, at).Order("effective_from DESC").Take(&r).Error)
	return r, ok, err
}

// Undoing lists the integration's events that undo the event originalEventID and are recorded for the
// affiliate or for none yet, by time and event id.
func (q LedgerQueries) Undoing(integrationID, originalEventID, affiliateID string) ([]Conversion, error) {
	var rows []Conversion
	err := q.db.Where("integration_id = ? AND original_event_id = ? AND affiliate_id IN ('', ?)", integrationID, originalEventID, affiliateID).
		Order("occurred_at, event_id").Find(&rows).Error
	return rows, err
}

// AnyUndoing says whether any of the integration's events undoes one of originalEventIDs and is recorded for
// the affiliate or for none yet.
func (q LedgerQueries) AnyUndoing(integrationID string, originalEventIDs []string, affiliateID string) (bool, error) {
	var n int64
	err := q.db.Model(&Conversion{}).Where("integration_id = ? AND original_event_id IN ? AND affiliate_id IN ('', ?)", integrationID, originalEventIDs, affiliateID).
		Limit(1).Count(&n).Error
	return n > 0, err
}

// SetAttribution writes a recorded conversion's affiliate and player.
func (q LedgerQueries) SetAttribution(c Conversion) error {
	return q.db.Model(&c).Updates(map[string]any{"affiliate_id": c.AffiliateID, "player_id": c.PlayerID}).Error
}
