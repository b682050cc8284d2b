package activities

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// affiliateCreated is the affiliate.created event of a new affiliate: registration data and link
// parameters for webhook subscriptions, attribution tags for CRM subscriptions. trackingLink is the configured
// tracking link template.
func affiliateCreated(aff store.Affiliate, plan store.Plan, trackingLink string) WebhookEvent {
	data := webhook.AffiliateData{
		AffiliateID: aff.ID, Name: aff.Name, Email: aff.Email, CreatedAt: aff.CreatedAt.UTC(),
		Plan:  webhook.Plan{Type: plan.Type, Amount: webhook.Money{Amount: money.Format(plan.AmountMinor, plan.Currency), Currency: plan.Currency}},
		Links: webhook.NewLinkParameters(trackingLink, aff.ID, postback.SubFields[:]),
	}
	return WebhookEvent{
		Key: webhook.EventKey(webhook.AffiliateCreated, aff.ID), Type: webhook.AffiliateCreated, At: aff.CreatedAt,
		AffiliateID: aff.ID, Data: data, CRMData: webhook.NewCRMAttribution(data),
	}
}

// PlanAffiliateCreated plans the affiliate.created deliveries inside the transaction that creates the affiliate.
func PlanAffiliateCreated(tx *gorm.DB, aff store.Affiliate, plan store.Plan, trackingLink string) error {
	_, err := PlanWebhookEvent(tx, affiliateCreated(aff, plan, trackingLink))
	return err
}

// AffiliateSignupDeliveriesInput names the affiliate.
type AffiliateSignupDeliveriesInput struct {
	AffiliateID string
}

// AffiliateSignupDeliveriesResult lists the pending affiliate.created deliveries and the policy they run by.
type AffiliateSignupDeliveriesResult struct {
	Deliveries []DeliveryRef
	Policy     retrypolicy.Policy
}

// AffiliateSignupDeliveries returns the affiliate.created deliveries still pending.
func (a *Activities) AffiliateSignupDeliveries(ctx context.Context, in AffiliateSignupDeliveriesInput) (AffiliateSignupDeliveriesResult, error) {
	refs, err := pendingDeliveries(a.Store.DB.WithContext(ctx), webhook.EventKey(webhook.AffiliateCreated, in.AffiliateID))
	if err != nil {
		return AffiliateSignupDeliveriesResult{}, fmt.Errorf("affiliate.created deliveries of %s: %w", in.AffiliateID, err)
	}
	return AffiliateSignupDeliveriesResult{Deliveries: refs, Policy: a.Policy}, nil
}
