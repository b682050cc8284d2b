// Package affiliates is the application service for affiliates: signup, postback endpoints, plan versions,
// sub-affiliate links, FX rates, balances and commission entries.
package affiliates

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/commission/commissionrow"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/service/start"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Service manages affiliates and what they earn.
type Service struct {
	Store *store.Store
	Start start.Starter
	// TrackingLink is the tracking link template; {affiliate_id} is filled at signup.
	TrackingLink string
	Logger       *slog.Logger
}

// NewAffiliate is what an affiliate is created with: its first plan version (which applies to every event
// before any later version) and optionally a parent who earns ParentShareBP of its commission.
type NewAffiliate struct {
	Name, Email   string
	Plan          store.Plan
	ParentID      string
	ParentShareBP int64
}

// CreateAffiliate creates an affiliate and its first plan version, and plans its affiliate.created deliveries
// in the same transaction; SignUpAffiliate then starts them.
func (s *Service) CreateAffiliate(ctx context.Context, in NewAffiliate) (store.Affiliate, store.Plan, error) {
	aff := store.Affiliate{ID: store.NewID("aff"), Name: in.Name, Email: in.Email, ParentID: in.ParentID, ParentShareBP: in.ParentShareBP}
	plan := in.Plan
	plan.ID, plan.AffiliateID, plan.EffectiveFrom = store.NewID("pln"), aff.ID, time.Unix(0, 0).UTC()
	err := s.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if in.ParentID != "" {
			if err := tx.Where("id = ?", in.ParentID).Take(&store.Affiliate{}).Error; err != nil {
				return store.NotFound(err, "parent affiliate "+in.ParentID)
			}
		}
		if err := tx.Create(&aff).Error; err != nil {
			return err
		}
		if err := tx.Create(&plan).Error; err != nil {
			return err
		}
		_, err := store.PlanWebhookEvent(tx, eventplan.AffiliateCreated(aff, plan, s.TrackingLink))
		return err
	})
	return aff, plan, err
}

// AddPostbackEndpoint adds a validated endpoint to an existing affiliate.
func (s *Service) AddPostbackEndpoint(ctx context.Context, ep store.PostbackEndpoint) (store.PostbackEndpoint, error) {
	if _, err := s.Affiliate(ctx, ep.AffiliateID); err != nil {
		return ep, err
	}
	ep.ID = store.NewID("pbe")
	ep.Enabled = true
	return ep, s.Store.DB.WithContext(ctx).Create(&ep).Error
}

// SetPostbackEndpointEnabled re-enables (or disables) an endpoint, e.g. after a 410 was fixed.
func (s *Service) SetPostbackEndpointEnabled(ctx context.Context, affiliateID, endpointID string, enabled bool) (store.PostbackEndpoint, error) {
	var ep store.PostbackEndpoint
	db := s.Store.DB.WithContext(ctx)
	if err := db.Where("id = ? AND affiliate_id = ?", endpointID, affiliateID).Take(&ep).Error; err != nil {
		return ep, store.NotFound(err, "postback endpoint "+endpointID+" of affiliate "+affiliateID)
	}
	reason := ""
	if !enabled {
		reason = "disabled by operator"
	}
	err := db.Model(&ep).Updates(map[string]any{"enabled": enabled, "disabled_reason": reason}).Error
	ep.Enabled, ep.DisabledReason = enabled, reason
	return ep, err
}

// Affiliate loads one affiliate.
func (s *Service) Affiliate(ctx context.Context, id string) (store.Affiliate, error) {
	var aff store.Affiliate
	err := s.Store.DB.WithContext(ctx).Where("id = ?", id).Take(&aff).Error
	return aff, store.NotFound(err, "affiliate "+id)
}

// ErrSignupNotStarted says the affiliate was created but its signup workflow could not be started yet;
// StartAffiliateSignup (POST /v1/admin/affiliates/{id}/signup) starts it later.
var ErrSignupNotStarted = errors.New("signup workflow not started")

// SignUpAffiliate creates the affiliate and starts its AffiliateSignupWorkflow, which sends affiliate.created to
// the operator's subscriptions and attribution tags to the CRM.
func (s *Service) SignUpAffiliate(ctx context.Context, in NewAffiliate) (store.Affiliate, store.Plan, string, error) {
	aff, plan, err := s.CreateAffiliate(ctx, in)
	if err != nil {
		return aff, plan, "", err
	}
	id, err := s.StartAffiliateSignup(ctx, aff.ID)
	if err != nil {
		return aff, plan, id, fmt.Errorf("%w: affiliate %s was created; retry POST /v1/admin/affiliates/%s/signup: %v", ErrSignupNotStarted, aff.ID, aff.ID, err)
	}
	return aff, plan, id, nil
}

// StartAffiliateSignup starts the affiliate's signup workflow; a workflow that already ran counts as started.
func (s *Service) StartAffiliateSignup(ctx context.Context, affiliateID string) (string, error) {
	id := workflows.AffiliateSignupWorkflowID(affiliateID)
	if _, err := s.Affiliate(ctx, affiliateID); err != nil {
		return id, err
	}
	_, err := s.Start.Once(ctx, id, []temporal.SearchAttributeUpdate{workflows.AffiliateIDKey.ValueSet(affiliateID)},
		workflows.AffiliateSignupWorkflow, workflows.AffiliateSignupInput{AffiliateID: affiliateID})
	return id, err
}

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

// AddFXRate stores a rate from its effective time on; a rate for the same pair and time is a conflict. The
// conversions waiting for a rate (fx_rate_missing) are woken to try again.
func (s *Service) AddFXRate(ctx context.Context, r store.FXRate) (store.FXRate, error) {
	r.ID = store.NewID("fx")
	err := s.Store.DB.WithContext(ctx).Create(&r).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return r, apperr.Conflict("a %s/%s rate from %s exists", r.Base, r.Quote, r.EffectiveFrom.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return r, err
	}
	if err := s.wakeConversionsWaitingForRates(ctx); err != nil {
		// The rate is stored, and a waiting conversion tries again by itself within the hour.
		s.Logger.Warn("could not wake the conversions waiting for an FX rate", "error", err)
	}
	return r, nil
}

// wakeConversionsWaitingForRates signals every running conversion in the fx_rate_missing state. Each tries
// again; one still without its rate goes back to waiting.
func (s *Service) wakeConversionsWaitingForRates(ctx context.Context) error {
	query := fmt.Sprintf("%s = '%s' AND ExecutionStatus = 'Running'", workflows.ConversionStateKey.GetName(), workflows.ConversionStateFXRateMissing)
	var token []byte
	for {
		page, err := s.Start.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
		if err != nil {
			return err
		}
		for _, wf := range page.GetExecutions() {
			err := s.Start.Temporal.SignalWorkflow(ctx, wf.GetExecution().GetWorkflowId(), wf.GetExecution().GetRunId(), workflows.FXRateAddedSignal, nil)
			var gone *serviceerror.NotFound
			if err != nil && !errors.As(err, &gone) { // one that finished meanwhile needs no wake-up
				return err
			}
		}
		if token = page.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
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
