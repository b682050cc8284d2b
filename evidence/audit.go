package evidence

import (
	"encoding/json"
	"fmt"

	"github.com/affrelay/affrelay/auditchain"
)

// AuditPath is the bundle's file of audit rows and their chain proof.
const AuditPath = "audit.json"

// AuditTrail is audit.json: the audit rows that concern the event and the proof that the chained ones are on
// the audit log's hash chain, up to the daily checkpoint sent after them.
type AuditTrail struct {
	// Rows are the audit rows as stored (rows written before the chain have no Seq).
	Rows any `json:"rows"`
	// ChainRows are the chained rows as the chain hashes them (auditchain.Canonical); Proof covers them.
	ChainRows []auditchain.Row `json:"chain_rows"`
	// Proof leads from the link before the first chained row to Checkpoint (or to the chain's head when the
	// bundle was made, when no checkpoint was sent since): the content digest of every row in between.
	Proof *auditchain.Proof `json:"proof"`
	// Checkpoint is the daily audit.checkpoint the proof ends at, as the operator's systems received it.
	Checkpoint any `json:"checkpoint"`
}

// AuditProofResult is what CheckAuditProof found: how many rows it proved, up to which link.
type AuditProofResult struct {
	Rows int
	To   auditchain.Anchor
}

// CheckAuditProof checks audit.json: every chained row is the one its proof holds at its position, and the
// proof's digests lead to its end. A trail without chained rows proves nothing and is no error (Rows 0).
func CheckAuditProof(auditJSON []byte) (AuditProofResult, error) {
	var t AuditTrail
	if err := json.Unmarshal(auditJSON, &t); err != nil {
		return AuditProofResult{}, fmt.Errorf("%s: %w", AuditPath, err)
	}
	if len(t.ChainRows) == 0 {
		return AuditProofResult{}, nil
	}
	if t.Proof == nil {
		return AuditProofResult{}, fmt.Errorf("%s: %d chained rows and no proof", AuditPath, len(t.ChainRows))
	}
	if err := auditchain.VerifyProof(*t.Proof, t.ChainRows); err != nil {
		return AuditProofResult{}, fmt.Errorf("%s: %w", AuditPath, err)
	}
	return AuditProofResult{Rows: len(t.ChainRows), To: t.Proof.To}, nil
}
