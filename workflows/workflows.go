// Package workflows holds affrelay's deterministic workflow code, their IDs, signal names and search attributes.
package workflows

import (
	"encoding/base64"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Search attributes, so ops find a workflow in the Temporal UI by event, affiliate, integration or delivery state.
var (
	DeliveryStateKey = temporal.NewSearchAttributeKeyKeyword("DeliveryState")
	AffiliateIDKey   = temporal.NewSearchAttributeKeyKeyword("AffiliateID")
	IntegrationIDKey = temporal.NewSearchAttributeKeyKeyword("IntegrationID")
	EventIDKey       = temporal.NewSearchAttributeKeyKeyword("EventID")
	// ConversionStateKey is set once recording a conversion failed: fx_rate_missing, stuck, then recorded.
	ConversionStateKey = temporal.NewSearchAttributeKeyKeyword("ConversionState")
)

// All lists every workflow type: the worker registers them, and TestReplayRecordedHistories replays each one's
// recorded histories (testdata/histories/<type>/) and fails for a type that has none. A new workflow is one
// more entry here plus a recorded history (docs/replay-tests.md).
var All = []any{ConversionWorkflow, DeliveryWorkflow, AffiliateSignupWorkflow, CommissionReportsWorkflow, PerformanceReportsWorkflow, ReconciliationWorkflow, ReconciliationPullWorkflow, PayoutCycleWorkflow, PayoutWorkflow, RefireJobWorkflow, AuditCheckpointWorkflow}

// SearchAttributes lists every custom search attribute the workflows set; the server must know them.
var SearchAttributes = []temporal.SearchAttributeKey{DeliveryStateKey, AffiliateIDKey, IntegrationIDKey, EventIDKey, BatchIDKey, PayoutStateKey, ConversionStateKey}

// ConversionWorkflowID is the business key of the workflow for one event of one integration; Temporal
// refuses a second start with it, which is how duplicates are recognised. The event id goes in through
// IDPart; integration ids are generated (printable ASCII, no colon).
func ConversionWorkflowID(integrationID, eventID string) string {
	return "conversion:" + integrationID + ":" + IDPart(eventID)
}

// ConversionStatusWorkflowID is the business key of a status change of one event: one per status, so a
// repeated change is a duplicate and is applied once.
func ConversionStatusWorkflowID(integrationID, eventID, status string) string {
	return "conversion-status:" + integrationID + ":" + IDPart(eventID) + ":" + status
}

// DeliveryWorkflowID is the workflow ID of one delivery.
func DeliveryWorkflowID(deliveryID string) string {
	return "delivery:" + IDPart(deliveryID)
}

// EncodedIDPartPrefix begins every IDPart that is not the string itself.
const EncodedIDPartPrefix = "~u:"

// IDPart returns a user-supplied string as it may appear in a workflow id; every workflow id built from
// something a client sent uses it. Temporal carries the workflow id in a gRPC header, which takes printable
// ASCII only: a start with "café" in its id is refused, every time. So printable ASCII (0x20–0x7E) stays as
// it is — the ids of workflows started before this rule do not change — and any other string, or one that
// happens to begin with EncodedIDPartPrefix, becomes that prefix followed by its bytes in unpadded base64url.
// No two strings share a part (the plain ones never begin with the prefix), and ParseIDPart gives the
// string back. Base64 rather than percent-encoding keeps a 128-byte id under 175 characters, inside the
// stored workflow id column and Temporal's limits. People see the original: in the database, in API
// answers and in the search attributes, which travel as payloads and take any UTF-8.
func IDPart(s string) string {
	if printableASCII(s) && !strings.HasPrefix(s, EncodedIDPartPrefix) {
		return s
	}
	return EncodedIDPartPrefix + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseIDPart is the inverse of IDPart.
func ParseIDPart(part string) (string, error) {
	encoded, ok := strings.CutPrefix(part, EncodedIDPartPrefix)
	if !ok {
		return part, nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("workflow id part %q: %w", part, err)
	}
	return string(b), nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
