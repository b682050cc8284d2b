package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/affrelay/affrelay/apperr"
)

// Transaction runs fn in one database transaction; tx is a Store whose queries run inside it.
func (s *Store) Transaction(ctx context.Context, fn func(tx *Store) error) error {
	return s.DB.WithContext(ctx).Transaction(func(db *gorm.DB) error { return fn(&Store{DB: db}) })
}

// WithContext returns the store with its queries bound to ctx.
func (s *Store) WithContext(ctx context.Context) *Store { return &Store{DB: s.DB.WithContext(ctx)} }

// AffiliateQueries are the typed queries on affiliates, their plan versions and postback endpoints, and
// the FX rates, bound to one context.
type AffiliateQueries struct{ db *gorm.DB }

// Affiliates returns the affiliate queries for ctx.
func (s *Store) Affiliates(ctx context.Context) AffiliateQueries {
	return AffiliateQueries{db: s.DB.WithContext(ctx)}
}

// Get loads one affiliate; a missing one is apperr.ErrNotFound naming it as what.
func (q AffiliateQueries) Get(id, what string) (Affiliate, error) {
	var aff Affiliate
	err := q.db.Where("id = ?", id).Take(&aff).Error
	return aff, NotFound(err, what+" "+id)
}

// Lock loads one affiliate and locks its row until the transaction ends (PostgreSQL; SQLite has one writer).
func (q AffiliateQueries) Lock(id string) (Affiliate, error) {
	var aff Affiliate
	err := q.db.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&aff).Error
	return aff, NotFound(err, "affiliate "+id)
}

// IDsAfter returns up to limit affiliate ids after afterID, in id order (a page of every affiliate).
func (q AffiliateQueries) IDsAfter(afterID string, limit int) ([]string, error) {
	var ids []string
	return ids, q.db.Model(&Affiliate{}).Where("id > ?", afterID).Order("id").Limit(limit).Pluck("id", &ids).Error
}

// Create stores an affiliate.
func (q AffiliateQueries) Create(aff *Affiliate) error { return q.db.Create(aff).Error }

// SetParent writes an affiliate's parent and the parent's share.
func (q AffiliateQueries) SetParent(id, parentID string, shareBP int64) error {
	return q.db.Model(&Affiliate{ID: id}).Updates(map[string]any{"parent_id": parentID, "parent_share_bp": shareBP}).Error
}

// CreatePlan stores a plan version.
func (q AffiliateQueries) CreatePlan(p *Plan) error { return q.db.Create(p).Error }

// Plans lists an affiliate's plan versions, oldest first.
func (q AffiliateQueries) Plans(affiliateID string) ([]Plan, error) {
	var out []Plan
	return out, q.db.Where("affiliate_id = ?", affiliateID).Order("effective_from").Find(&out).Error
}

// LatestPlan loads an affiliate's newest plan version.
func (q AffiliateQueries) LatestPlan(affiliateID string) (Plan, error) {
	var p Plan
	return p, q.db.Where("affiliate_id = ?", affiliateID).Order("effective_from DESC").Take(&p).Error
}

// CreateEndpoint stores a postback endpoint.
func (q AffiliateQueries) CreateEndpoint(ep *PostbackEndpoint) error { return q.db.Create(ep).Error }

// Endpoint loads one postback endpoint of an affiliate; a missing one is apperr.ErrNotFound.
func (q AffiliateQueries) Endpoint(affiliateID, endpointID string) (PostbackEndpoint, error) {
	var ep PostbackEndpoint
	err := q.db.Where("id = ? AND affiliate_id = ?", endpointID, affiliateID).Take(&ep).Error
	return ep, NotFound(err, "postback endpoint "+endpointID+" of affiliate "+affiliateID)
}

// SetEndpointEnabled turns a postback endpoint on or off, with the reason it is off; turning it on clears its
// run of failures.
func (q AffiliateQueries) SetEndpointEnabled(endpointID string, enabled bool, reason string) error {
	updates := map[string]any{"enabled": enabled, "disabled_reason": reason}
	if enabled {
		updates["consecutive_failures"] = 0
	}
	return q.db.Model(&PostbackEndpoint{ID: endpointID}).Updates(updates).Error
}

// SetEndpointLimits writes a postback endpoint's own limits (0: the defaults).
func (q AffiliateQueries) SetEndpointLimits(endpointID string, l TargetLimits) error {
	return q.db.Model(&PostbackEndpoint{ID: endpointID}).Select("max_rps", "max_in_flight").Updates(PostbackEndpoint{Limits: l}).Error
}

// CountEndpointFailure writes a postback endpoint's run of failed deliveries and, when disable is set,
// disables it for the reason given.
func (q AffiliateQueries) CountEndpointFailure(id string, consecutiveFailures int, disable bool, reason string) error {
	return countFailure(q.db.Model(&PostbackEndpoint{}), id, consecutiveFailures, disable, reason)
}

// countFailure writes the run of failures of the target (an endpoint or subscription) id in model's table.
func countFailure(model *gorm.DB, id string, consecutiveFailures int, disable bool, reason string) error {
	updates := map[string]any{"consecutive_failures": consecutiveFailures}
	if disable {
		updates["enabled"], updates["disabled_reason"] = false, reason
	}
	return model.Where("id = ?", id).Updates(updates).Error
}

// EntriesFor returns an affiliate's ledger entries for events in [from, to), by time and key.
func (q AffiliateQueries) EntriesFor(affiliateID string, from, to time.Time) ([]LedgerEntry, error) {
	var rows []LedgerEntry
	return rows, q.db.Where("affiliate_id = ? AND event_at >= ? AND event_at < ?", affiliateID, from, to).
		Order("event_at, source_key").Find(&rows).Error
}

// StoreReport stores a weekly commission report unless its affiliate and week have one; it returns the stored
// report and whether this call stored it.
func (q AffiliateQueries) StoreReport(r CommissionReport) (CommissionReport, bool, error) {
	created := q.db.Clauses(clause.OnConflict{DoNothing: true}).Create(&r)
	if created.Error != nil {
		return r, false, created.Error
	}
	var stored CommissionReport
	err := q.db.Where("affiliate_id = ? AND period_start = ?", r.AffiliateID, r.PeriodStart).Take(&stored).Error
	return stored, created.RowsAffected == 1, err
}

// CreateFXRate stores a rate; one for the same pair and time is apperr.ErrConflict.
func (q AffiliateQueries) CreateFXRate(r *FXRate) error {
	err := q.db.Create(r).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return apperr.Conflict("a %s/%s rate from %s exists", r.Base, r.Quote, r.EffectiveFrom.UTC().Format(time.RFC3339))
	}
	return err
}

// FXRates lists every rate by pair and time.
func (q AffiliateQueries) FXRates() ([]FXRate, error) {
	var out []FXRate
	return out, q.db.Order("base, quote, effective_from").Find(&out).Error
}

// Endpoints lists an affiliate's postback endpoints, enabled or not, by id.
func (q AffiliateQueries) Endpoints(affiliateID string) ([]PostbackEndpoint, error) {
	var out []PostbackEndpoint
	return out, q.db.Where("affiliate_id = ?", affiliateID).Order("id").Find(&out).Error
}

// Page returns up to limit affiliates after afterID, in id order.
func (q AffiliateQueries) Page(p ListPage) ([]Affiliate, error) {
	var out []Affiliate
	return out, p.apply(q.db).Find(&out).Error
}

// AffiliateBalance is an affiliate's ledger in one currency: everything earned, what is on hold and what was
// paid. (The split of the rest into pending and approved is at the balance route, which first approves
// the entries whose hold has passed.)
type AffiliateBalance struct {
	Currency                           string
	TotalMinor, OnHoldMinor, PaidMinor int64
}

// Balances sums the ledger of each affiliate per currency, by affiliate id; onHold and paid are the entry
// statuses (package payout) summed apart.
func (q AffiliateQueries) Balances(affiliateIDs []string, onHold, paid string) (map[string][]AffiliateBalance, error) {
	var rows []struct {
		AffiliateID, Currency              string
		TotalMinor, OnHoldMinor, PaidMinor int64
	}
	err := q.db.Model(&LedgerEntry{}).
		Select("affiliate_id, currency, SUM(amount_minor) AS total_minor, "+
			"SUM(CASE WHEN status = ? THEN amount_minor ELSE 0 END) AS on_hold_minor, "+
			"SUM(CASE WHEN status = ? THEN amount_minor ELSE 0 END) AS paid_minor", onHold, paid).
		Where("affiliate_id IN ?", affiliateIDs).Group("affiliate_id, currency").Order("affiliate_id, currency").Scan(&rows).Error
	out := map[string][]AffiliateBalance{}
	for _, r := range rows {
		out[r.AffiliateID] = append(out[r.AffiliateID], AffiliateBalance{Currency: r.Currency, TotalMinor: r.TotalMinor, OnHoldMinor: r.OnHoldMinor, PaidMinor: r.PaidMinor})
	}
	return out, err
}

// FirstPlans returns each affiliate's first plan version (the one it signed up with), by affiliate id.
func (q AffiliateQueries) FirstPlans(affiliateIDs []string) (map[string]Plan, error) {
	var plans []Plan
	if err := q.db.Where("affiliate_id IN ?", affiliateIDs).Order("affiliate_id, effective_from DESC").Find(&plans).Error; err != nil {
		return nil, err
	}
	out := make(map[string]Plan, len(affiliateIDs))
	for _, p := range plans {
		out[p.AffiliateID] = p // the last one, in descending order, is the first version
	}
	return out, nil
}

// PostbackEndpoint loads a postback endpoint by id; a missing one is apperr.ErrNotFound.
func (q AffiliateQueries) PostbackEndpoint(id string) (PostbackEndpoint, error) {
	var ep PostbackEndpoint
	err := q.db.Where("id = ?", id).Take(&ep).Error
	return ep, NotFound(err, "postback endpoint "+id)
}
