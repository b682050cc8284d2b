package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
)

// AffiliateSignupWorkflowID is the workflow ID of one affiliate's signup.
func AffiliateSignupWorkflowID(affiliateID string) string {
	return "affiliate-signup:" + IDPart(affiliateID)
}

// AffiliateSignupInput names the affiliate that signed up.
type AffiliateSignupInput struct {
	AffiliateID string
}

// AffiliateSignupResult lists the deliveries started: affiliate.created to the operator's and internal
// subscriptions, attribution tags to the CRM.
type AffiliateSignupResult struct {
	Deliveries []string
}

// AffiliateSignupWorkflow sends an affiliate's registration data and link parameters to the operator and its
// attribution tags to the CRM. The affiliate.created deliveries were planned in the transaction that created
// the affiliate; this workflow starts them.
func AffiliateSignupWorkflow(ctx workflow.Context, in AffiliateSignupInput) (AffiliateSignupResult, error) {
	var a *activities.Activities
	var planned activities.AffiliateSignupDeliveriesResult
	if err := workflow.ExecuteLocalActivity(withDatabaseRead(ctx), a.AffiliateSignupDeliveries, activities.AffiliateSignupDeliveriesInput{
		AffiliateID: in.AffiliateID,
	}).Get(ctx, &planned); err != nil {
		return AffiliateSignupResult{}, err
	}
	ids, err := startDeliveries(ctx, planned.Deliveries, planned.Policy)
	return AffiliateSignupResult{Deliveries: ids}, err
}
