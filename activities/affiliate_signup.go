package activities

import (
	"context"
	"fmt"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/retrypolicy"
)

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
	refs, err := pendingDeliveries(a.Store.DB.WithContext(ctx), eventplan.AffiliateCreatedKey(in.AffiliateID))
	if err != nil {
		return AffiliateSignupDeliveriesResult{}, fmt.Errorf("affiliate.created deliveries of %s: %w", in.AffiliateID, err)
	}
	return AffiliateSignupDeliveriesResult{Deliveries: refs, Policy: a.Policy}, nil
}
