package relay

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/commission/commissionrow"
	"github.com/affrelay/affrelay/store"
)

// AddPlanVersion adds a plan version effective from p.EffectiveFrom, which must come after every existing
// version's: entries already written keep the version that paid them, events from then on use the new one.
// The currency cannot change, so an affiliate's RevShare periods add up in one currency.
func (s *Service) AddPlanVersion(ctx context.Context, affiliateID string, p store.Plan) (store.Plan, error) {
	err := s.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var latest store.Plan
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", affiliateID).Take(&store.Affiliate{}).Error; err != nil {
			return store.NotFound(err, "affiliate "+affiliateID)
		}
		if err := tx.Where("affiliate_id = ?", affiliateID).Order("effective_from DESC").Take(&latest).Error; err != nil {
			return err
		}
		if !p.EffectiveFrom.After(latest.EffectiveFrom) {
			return apperr.Conflict("effective_from must be after the current version's (%s)", latest.EffectiveFrom.UTC().Format(time.RFC3339))
		}
		if p.Currency != latest.Currency {
			return apperr.Conflict("the plan currency is %s and cannot change", latest.Currency)
		}
		p.ID, p.AffiliateID = store.NewID("pln"), affiliateID
		return tx.Create(&p).Error
	})
	return p, err
}

// PlanVersions lists an affiliate's plan versions, oldest first.
func (s *Service) PlanVersions(ctx context.Context, affiliateID string) ([]store.Plan, error) {
	if _, err := s.Affiliate(ctx, affiliateID); err != nil {
		return nil, err
	}
	var out []store.Plan
	err := s.Store.DB.WithContext(ctx).Where("affiliate_id = ?", affiliateID).Order("effective_from").Find(&out).Error
	return out, err
}

// SetParent makes parentID the affiliate's parent (empty: none), earning shareBP of its later commission.
// Entries already written keep the parent entries they had.
func (s *Service) SetParent(ctx context.Context, affiliateID, parentID string, shareBP int64) (store.Affiliate, error) {
	var aff store.Affiliate
	err := s.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", affiliateID).Take(&aff).Error; err != nil {
			return store.NotFound(err, "affiliate "+affiliateID)
		}
		// Walk up from the new parent: meeting the affiliate would make a cycle.
		for id, depth := parentID, 0; id != ""; depth++ {
			if id == affiliateID || depth > 100 {
				return apperr.Conflict("%s is below %s, so it cannot be its parent", parentID, affiliateID)
			}
			var up store.Affiliate
			if err := tx.Where("id = ?", id).Take(&up).Error; err != nil {
				return store.NotFound(err, "parent affiliate "+id)
			}
			id = up.ParentID
		}
		aff.ParentID, aff.ParentShareBP = parentID, shareBP
		return tx.Model(&aff).Updates(map[string]any{"parent_id": parentID, "parent_share_bp": shareBP}).Error
	})
	return aff, err
}

// AddFXRate stores a rate from its effective time on; a rate for the same pair and time is a conflict.
func (s *Service) AddFXRate(ctx context.Context, r store.FXRate) (store.FXRate, error) {
	r.ID = store.NewID("fx")
	err := s.Store.DB.WithContext(ctx).Create(&r).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return r, apperr.Conflict("a %s/%s rate from %s exists", r.Base, r.Quote, r.EffectiveFrom.UTC().Format(time.RFC3339))
	}
	return r, err
}

// FXRates lists every rate by pair and time.
func (s *Service) FXRates(ctx context.Context) ([]store.FXRate, error) {
	var out []store.FXRate
	err := s.Store.DB.WithContext(ctx).Order("base, quote, effective_from").Find(&out).Error
	return out, err
}

// CommissionEntries returns an affiliate's ledger entries for events in [from, to).
func (s *Service) CommissionEntries(ctx context.Context, affiliateID string, from, to time.Time) ([]commission.Entry, error) {
	if _, err := s.Affiliate(ctx, affiliateID); err != nil {
		return nil, err
	}
	var rows []store.LedgerEntry
	if err := s.Store.DB.WithContext(ctx).Where("affiliate_id = ? AND event_at >= ? AND event_at < ?", affiliateID, from, to).
		Order("event_at, source_key").Find(&rows).Error; err != nil {
		return nil, err
	}
	return commissionrow.Entries(rows), nil
}
