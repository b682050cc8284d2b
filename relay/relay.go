// Package relay is affrelay's application service: what the HTTP handlers ask for, done with the store and Temporal.
package relay

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Service is the application service.
type Service struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	// EagerStart hands a new workflow's first task straight to the worker in this process, saving a round trip.
	EagerStart bool
	Webhooks   WebhookSettings
}

// Submission is the answer to a postback.
type Submission struct {
	Duplicate  bool
	WorkflowID string
}

// SubmitPostback starts the conversion workflow for the event. It returns only once Temporal has durably
// accepted the start, or recognised the event as already seen.
func (s *Service) SubmitPostback(ctx context.Context, integrationID string, ev postback.Event) (Submission, error) {
	id := workflows.ConversionWorkflowID(integrationID, ev.EventID)
	// Temporal forgets closed workflows after its retention period; the database remembers every event for ever.
	var n int64
	if err := s.Store.DB.WithContext(ctx).Model(&store.Conversion{}).
		Where("integration_id = ? AND event_id = ?", integrationID, ev.EventID).Count(&n).Error; err != nil {
		return Submission{}, err
	}
	if n > 0 {
		return Submission{Duplicate: true, WorkflowID: id}, nil
	}
	attrs := []temporal.SearchAttributeUpdate{workflows.IntegrationIDKey.ValueSet(integrationID), workflows.EventIDKey.ValueSet(ev.EventID)}
	if ev.AffiliateID != "" {
		attrs = append(attrs, workflows.AffiliateIDKey.ValueSet(ev.AffiliateID))
	}
	duplicate, err := s.startOnce(ctx, id, attrs, workflows.ConversionWorkflow, workflows.ConversionInput{IntegrationID: integrationID, Event: ev})
	if err != nil {
		return Submission{}, err
	}
	return Submission{Duplicate: duplicate, WorkflowID: id}, nil
}

// HashKey is how API keys are stored: a SHA-256, enough for a random 256-bit key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the integration and key id an API key belongs to.
func (s *Service) Authenticate(ctx context.Context, key string) (integrationID, keyID string, err error) {
	if key == "" {
		return "", "", apperr.ErrUnauthorized
	}
	hash := HashKey(key)
	var k store.APIKey
	err = s.Store.DB.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", hash).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", "", apperr.ErrUnauthorized
	}
	if err != nil {
		return "", "", err
	}
	// The lookup is by hash; the constant-time comparison guards against a store that matched loosely.
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 {
		return "", "", apperr.ErrUnauthorized
	}
	return k.IntegrationID, k.ID, nil
}

// NewAPIKey returns a fresh random API key.
func NewAPIKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "ak_" + base64.RawURLEncoding.EncodeToString(b)
}

// CreateIntegration creates an integration with its first API key, returned in clear this once.
func (s *Service) CreateIntegration(ctx context.Context, name string) (store.Integration, string, error) {
	key := NewAPIKey()
	in, err := s.CreateIntegrationWithKey(ctx, name, key)
	return in, key, err
}

// CreateIntegrationWithKey creates an integration whose first API key is given (the dev demo uses a fixed one).
func (s *Service) CreateIntegrationWithKey(ctx context.Context, name, key string) (store.Integration, error) {
	in := store.Integration{ID: store.NewID("int"), Name: name}
	err := s.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&in).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return apperr.Conflict("an integration named %q exists", name)
			}
			return err
		}
		return tx.Create(&store.APIKey{
			ID: store.NewID("key"), IntegrationID: in.ID, Label: "initial", Hash: HashKey(key), Prefix: key[:min(len(key), 8)],
		}).Error
	})
	return in, err
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
		_, err := store.PlanWebhookEvent(tx, eventplan.AffiliateCreated(aff, plan, s.Webhooks.TrackingLink))
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

// Balance is an affiliate's ledger total in one currency.
type Balance struct {
	Currency    string
	AmountMinor int64
}

// Balances sums an affiliate's ledger per currency.
func (s *Service) Balances(ctx context.Context, affiliateID string) ([]Balance, error) {
	if _, err := s.Affiliate(ctx, affiliateID); err != nil {
		return nil, err
	}
	var out []Balance
	err := s.Store.DB.WithContext(ctx).Model(&store.LedgerEntry{}).
		Select("currency, SUM(amount_minor) AS amount_minor").Where("affiliate_id = ?", affiliateID).
		Group("currency").Order("currency").Scan(&out).Error
	return out, err
}

// DeliveryFilter narrows a deliveries listing; empty fields match everything.
type DeliveryFilter struct {
	Status, AffiliateID, EventID string
	Limit                        int
}

// DeliveryWithAttempts is a delivery and every attempt made so far.
type DeliveryWithAttempts struct {
	store.Delivery
	AttemptLog []store.DeliveryAttempt
}

// Deliveries lists deliveries, newest first, with their attempts.
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter) ([]DeliveryWithAttempts, error) {
	q := s.Store.DB.WithContext(ctx).Order("created_at DESC, id").Limit(f.Limit)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.AffiliateID != "" {
		q = q.Where("affiliate_id = ?", f.AffiliateID)
	}
	if f.EventID != "" {
		q = q.Where("event_id = ?", f.EventID)
	}
	var ds []store.Delivery
	if err := q.Find(&ds).Error; err != nil {
		return nil, err
	}
	out := make([]DeliveryWithAttempts, len(ds))
	ids := make([]string, len(ds))
	index := map[string]int{}
	for i, d := range ds {
		out[i].Delivery = d
		ids[i] = d.ID
		index[d.ID] = i
	}
	if len(ids) == 0 {
		return out, nil
	}
	var attempts []store.DeliveryAttempt
	if err := s.Store.DB.WithContext(ctx).Where("delivery_id IN ?", ids).Order("delivery_id, number").Find(&attempts).Error; err != nil {
		return nil, err
	}
	for _, a := range attempts {
		i := index[a.DeliveryID]
		out[i].AttemptLog = append(out[i].AttemptLog, a)
	}
	return out, nil
}

// RedeliverDelivery starts a new attempt series of a delivery waiting in needs_review.
func (s *Service) RedeliverDelivery(ctx context.Context, deliveryID string) error {
	return s.decideDelivery(ctx, deliveryID, workflows.RedeliverSignal)
}

// SkipDelivery gives up a delivery waiting in needs_review for good.
func (s *Service) SkipDelivery(ctx context.Context, deliveryID string) error {
	return s.decideDelivery(ctx, deliveryID, workflows.SkipSignal)
}

// decideDelivery sends an operator's decision to a delivery waiting in needs_review.
func (s *Service) decideDelivery(ctx context.Context, deliveryID, signal string) error {
	var d store.Delivery
	if err := s.Store.DB.WithContext(ctx).Where("id = ?", deliveryID).Take(&d).Error; err != nil {
		return store.NotFound(err, "delivery "+deliveryID)
	}
	if d.Status != store.DeliveryNeedsReview {
		return apperr.Conflict("delivery %s is %s, not needs_review", d.ID, d.Status)
	}
	err := s.Temporal.SignalWorkflow(ctx, workflows.DeliveryWorkflowID(deliveryID), "", signal, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return apperr.Conflict("the workflow of delivery %s is no longer running", d.ID)
	}
	return err
}

// DependencyCheck is one dependency's answer to a readiness check: Err is nil when it answered. Err is for the
// log; callers of /readyz only learn the dependency's name.
type DependencyCheck struct {
	Dependency string // "database" or "temporal"
	Err        error
}

// readyTimeout bounds each readiness check, so a hanging dependency reads as down instead of hanging the probe.
const readyTimeout = 3 * time.Second

// Ready checks every dependency the API needs, each in turn: the database, then Temporal.
func (s *Service) Ready(ctx context.Context) []DependencyCheck {
	check := func(name string, f func(context.Context) error) DependencyCheck {
		ctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		return DependencyCheck{Dependency: name, Err: f(ctx)}
	}
	return []DependencyCheck{
		check("database", s.Store.Ping),
		check("temporal", func(ctx context.Context) error {
			_, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}),
	}
}
