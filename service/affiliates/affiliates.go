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

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/commission/commissionrow"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/performance"
	"github.com/affrelay/affrelay/performance/performancerow"
	"github.com/affrelay/affrelay/service/start"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
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
	err := s.Store.Transaction(ctx, func(tx *store.Store) error {
		q := tx.Affiliates(ctx)
		if in.ParentID != "" {
			if _, err := q.Get(in.ParentID, "parent affiliate"); err != nil {
				return err
			}
		}
		if err := q.Create(&aff); err != nil {
			return err
		}
		if err := q.CreatePlan(&plan); err != nil {
			return err
		}
		_, err := store.PlanWebhookEvent(tx.DB, eventplan.AffiliateCreated(aff, plan, s.TrackingLink))
		return err
	})
	return aff, plan, err
}

// AddPostbackEndpoint adds a validated endpoint to an existing affiliate.
func (s *Service) AddPostbackEndpoint(ctx context.Context, ep store.PostbackEndpoint) (store.PostbackEndpoint, error) {
	if _, err := s.Affiliate(ctx, ep.AffiliateID); err != nil {
		return ep, err
	}
	if err := ep.Limits.Validate(); err != nil {
		return ep, err
	}
	ep.ID = store.NewID("pbe")
	ep.Enabled = true
	return ep, s.Store.Affiliates(ctx).CreateEndpoint(&ep)
}

// Endpoints lists a page of postback endpoints, of one affiliate when affiliateID is set.
func (s *Service) Endpoints(ctx context.Context, affiliateID string, p store.ListPage) ([]store.PostbackEndpoint, error) {
	return s.Store.Affiliates(ctx).ListEndpoints(affiliateID, p)
}

// DeletePostbackEndpoint removes an affiliate's endpoint: its held deliveries are skipped, its pending ones go
// to needs_review at their next attempt.
func (s *Service) DeletePostbackEndpoint(ctx context.Context, affiliateID, endpointID string) error {
	q := s.Store.Affiliates(ctx)
	ep, err := q.Endpoint(affiliateID, endpointID)
	if err != nil {
		return err
	}
	return q.DeleteEndpoint(ep.ID, time.Now())
}

// EndpointUpdate changes the fields of a postback endpoint that are set.
type EndpointUpdate struct {
	Enabled *bool
	// Limits are the endpoint's own limits (0: the defaults); each is changed when set.
	MaxRPS      *float64
	MaxInFlight *int
}

// UpdatePostbackEndpoint changes an endpoint's limits and re-enables (or disables) it, e.g. after a 410 was fixed.
func (s *Service) UpdatePostbackEndpoint(ctx context.Context, affiliateID, endpointID string, u EndpointUpdate) (store.PostbackEndpoint, error) {
	q := s.Store.Affiliates(ctx)
	ep, err := q.Endpoint(affiliateID, endpointID)
	if err != nil {
		return ep, err
	}
	if u.MaxRPS != nil || u.MaxInFlight != nil {
		ep.Limits = ep.Limits.With(u.MaxRPS, u.MaxInFlight)
		if err := ep.Limits.Validate(); err != nil {
			return ep, err
		}
		if err := q.SetEndpointLimits(ep.ID, ep.Limits); err != nil {
			return ep, err
		}
	}
	if u.Enabled == nil {
		return ep, nil
	}
	reason := ""
	if !*u.Enabled {
		reason = "disabled by operator"
	}
	err = q.SetEndpointEnabled(ep.ID, *u.Enabled, reason)
	ep.Enabled, ep.DisabledReason = *u.Enabled, reason
	return ep, err
}

// Affiliate loads one affiliate.
func (s *Service) Affiliate(ctx context.Context, id string) (store.Affiliate, error) {
	return s.Store.Affiliates(ctx).Get(id, "affiliate")
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
	err := s.Store.Transaction(ctx, func(tx *store.Store) error {
		q := tx.Affiliates(ctx)
		if _, err := q.Lock(affiliateID); err != nil {
			return err
		}
		latest, err := q.LatestPlan(affiliateID)
		if err != nil {
			return err
		}
		if !p.EffectiveFrom.After(latest.EffectiveFrom) {
			return apperr.Conflict("effective_from must be after the current version's (%s)", latest.EffectiveFrom.UTC().Format(time.RFC3339))
		}
		if p.Currency != latest.Currency {
			return apperr.Conflict("the plan currency is %s and cannot change", latest.Currency)
		}
		p.ID, p.AffiliateID = store.NewID("pln"), affiliateID
		return q.CreatePlan(&p)
	})
	return p, err
}

// PlanVersions lists an affiliate's plan versions, oldest first.
func (s *Service) PlanVersions(ctx context.Context, affiliateID string) ([]store.Plan, error) {
	if _, err := s.Affiliate(ctx, affiliateID); err != nil {
		return nil, err
	}
	return s.Store.Affiliates(ctx).Plans(affiliateID)
}

// SetParent makes parentID the affiliate's parent (empty: none), earning shareBP of its later commission.
// Entries already written keep the parent entries they had.
func (s *Service) SetParent(ctx context.Context, affiliateID, parentID string, shareBP int64) (store.Affiliate, error) {
	var aff store.Affiliate
	err := s.Store.Transaction(ctx, func(tx *store.Store) error {
		q := tx.Affiliates(ctx)
		var err error
		if aff, err = q.Lock(affiliateID); err != nil {
			return err
		}
		// Walk up from the new parent: meeting the affiliate would make a cycle.
		for id, depth := parentID, 0; id != ""; depth++ {
			if id == affiliateID || depth > 100 {
				return apperr.Conflict("%s is below %s, so it cannot be its parent", parentID, affiliateID)
			}
			up, err := q.Get(id, "parent affiliate")
			if err != nil {
				return err
			}
			id = up.ParentID
		}
		aff.ParentID, aff.ParentShareBP = parentID, shareBP
		return q.SetParent(aff.ID, parentID, shareBP)
	})
	return aff, err
}

// AddFXRate stores a rate from its effective time on; a rate for the same pair and time is a conflict. The
// conversions waiting for a rate (fx_rate_missing) are woken to try again.
func (s *Service) AddFXRate(ctx context.Context, r store.FXRate) (store.FXRate, error) {
	r.ID = store.NewID("fx")
	if err := s.Store.Affiliates(ctx).CreateFXRate(&r); err != nil {
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
	return s.Store.Affiliates(ctx).FXRates()
}

// CommissionEntries returns an affiliate's ledger entries for events in [from, to).
func (s *Service) CommissionEntries(ctx context.Context, affiliateID string, from, to time.Time) ([]commission.Entry, error) {
	if _, err := s.Affiliate(ctx, affiliateID); err != nil {
		return nil, err
	}
	rows, err := s.Store.Affiliates(ctx).EntriesFor(affiliateID, from, to)
	if err != nil {
		return nil, err
	}
	return commissionrow.Entries(rows), nil
}

// Registration is an affiliate's registration data and link parameters, exactly as affiliate.created carries
// them, for operators that pull instead of subscribing.
func (s *Service) Registration(ctx context.Context, id string) (webhook.AffiliateData, error) {
	aff, err := s.Affiliate(ctx, id)
	if err != nil {
		return webhook.AffiliateData{}, err
	}
	out, err := s.registrations(ctx, []store.Affiliate{aff})
	if err != nil {
		return webhook.AffiliateData{}, err
	}
	return out[0], nil
}

// ListedAffiliate is an affiliate as listed: as Registration shows it (with its plan), and its balance.
type ListedAffiliate struct {
	webhook.AffiliateData
	Balances []store.AffiliateBalance
}

// ListAffiliates lists a page of affiliates in id order, with their plan and balance per currency.
func (s *Service) ListAffiliates(ctx context.Context, p store.ListPage) ([]ListedAffiliate, error) {
	q := s.Store.Affiliates(ctx)
	affs, err := q.Page(p)
	if err != nil {
		return nil, err
	}
	regs, err := s.registrations(ctx, affs)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(affs))
	for i, a := range affs {
		ids[i] = a.ID
	}
	balances, err := q.Balances(ids, payout.EntryOnHold, payout.EntryPaid)
	if err != nil {
		return nil, err
	}
	out := make([]ListedAffiliate, len(regs))
	for i, r := range regs {
		out[i] = ListedAffiliate{AffiliateData: r, Balances: balances[r.AffiliateID]}
	}
	return out, nil
}

func (s *Service) registrations(ctx context.Context, affs []store.Affiliate) ([]webhook.AffiliateData, error) {
	ids := make([]string, len(affs))
	for i, a := range affs {
		ids[i] = a.ID
	}
	plans, err := s.Store.Affiliates(ctx).FirstPlans(ids)
	if err != nil {
		return nil, err
	}
	out := make([]webhook.AffiliateData, len(affs))
	for i, a := range affs {
		out[i] = eventplan.AffiliateRegistration(a, plans[a.ID], s.TrackingLink)
	}
	return out, nil
}

// Performance reports the funnel of [from, to) grouped by groupBy (see package performance): one affiliate's,
// or every affiliate's when affiliateID is empty.
func (s *Service) Performance(ctx context.Context, affiliateID, groupBy string, from, to time.Time) (performance.Report, error) {
	if affiliateID != "" {
		if _, err := s.Affiliate(ctx, affiliateID); err != nil {
			return performance.Report{}, err
		}
	}
	return performancerow.Read(ctx, s.Store, affiliateID, groupBy, from, to)
}
