package activities

import (
	"context"
	"time"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// TakeAuditCheckpointResult is the checkpoint taken and the audit.checkpoint deliveries to start.
type TakeAuditCheckpointResult struct {
	Checkpoint store.AuditCheckpoint
	Deliveries []DeliveryRef
	Policy     retrypolicy.Policy
}

// TakeAuditCheckpoint records the audit chain's head as a daily checkpoint and plans audit.checkpoint to every
// subscription that asked for it, in one transaction. A retry after a lost answer takes a second checkpoint
// (a later head) and sends it too; both are true heads, so nothing is wrong with the copies kept.
func (a *Activities) TakeAuditCheckpoint(ctx context.Context) (TakeAuditCheckpointResult, error) {
	res := TakeAuditCheckpointResult{Policy: a.Policy}
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		cp, err := tx.Audit(ctx).Checkpoint(store.AuditCheckpointDaily)
		if err != nil {
			return err
		}
		res.Checkpoint = cp
		res.Deliveries, err = planWebhookEvent(tx.DB, eventplan.AuditCheckpoint(webhook.AuditCheckpointData{
			CheckpointID: cp.ID, Seq: cp.Seq, Hash: cp.Hash, TakenAt: cp.CreatedAt.UTC().Format(time.RFC3339Nano),
		}, cp.CreatedAt))
		return err
	})
	return res, err
}
