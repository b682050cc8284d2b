// Package workflows holds affrelay's deterministic workflow code, their IDs, signal names and search attributes.
package workflows

import (
	"go.temporal.io/sdk/temporal"
)

// Search attributes, so ops find a workflow in the Temporal UI by event, affiliate, integration or delivery state.
var (
	DeliveryStateKey = temporal.NewSearchAttributeKeyKeyword("DeliveryState")
	AffiliateIDKey   = temporal.NewSearchAttributeKeyKeyword("AffiliateID")
	IntegrationIDKey = temporal.NewSearchAttributeKeyKeyword("IntegrationID")
	EventIDKey       = temporal.NewSearchAttributeKeyKeyword("EventID")
)

// SearchAttributes lists every custom search attribute the workflows set; the server must know them.
var SearchAttributes = []temporal.SearchAttributeKey{DeliveryStateKey, AffiliateIDKey, IntegrationIDKey, EventIDKey}

// ConversionWorkflowID is the business key of the workflow for one event of one integration; Temporal
// refuses a second start with it, which is how duplicates are recognised.
func ConversionWorkflowID(integrationID, eventID string) string {
	return "conversion:" + integrationID + ":" + eventID
}

// DeliveryWorkflowID is the workflow ID of one delivery.
func DeliveryWorkflowID(deliveryID string) string {
	return "delivery:" + deliveryID
}
