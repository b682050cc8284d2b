package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

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
// subscription that asked for it, in one transaction, once per run of its workflow: the event's key is the
// workflow's id, so a retry after a lost answer (or a reset) finds what its first try planned and starts
// those deliveries, instead of taking a second checkpoint and sending that too. (With no subscription a retry
// takes another checkpoint, which nothing sends.)
func (a *Activities) TakeAuditCheckpoint(ctx context.Context) (TakeAuditCheckpointResult, error) {
	res := TakeAuditCheckpointResult{Policy: a.Policy}
	key := eventplan.AuditCheckpointKey(activity.GetInfo(ctx).WorkflowExecution.ID)
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		body, planned, err := store.PlannedEventBody(tx.DB, key)
		if err != nil {
			return err
		}
		if planned {
			res.Checkpoint, err = plannedCheckpoint(body)
		} else {
			res.Checkpoint, err = takeAuditCheckpoint(ctx, tx, key)
		}
		if err != nil {
			return err
		}
		// Read back rather than keep what was planned: a retry after the commit must start the same deliveries.
		res.Deliveries, err = pendingDeliveries(tx.DB, key)
		return err
	})
	return res, err
}

// takeAuditCheckpoint stores the head as a daily checkpoint and plans its audit.checkpoint under key.
func takeAuditCheckpoint(ctx context.Context, tx *store.Store, key string) (store.AuditCheckpoint, error) {
	cp, err := tx.Audit(ctx).Checkpoint(store.AuditCheckpointDaily)
	if err != nil {
		return cp, err
	}
	_, err = store.PlanWebhookEvent(tx.DB, eventplan.AuditCheckpoint(key, webhook.AuditCheckpointData{
		CheckpointID: cp.ID, Seq: cp.Seq, Hash: cp.Hash, TakenAt: cp.CreatedAt.UTC().Format(time.RFC3339Nano),
	}, cp.CreatedAt))
	return cp, err
}

// plannedCheckpoint reads the checkpoint an audit.checkpoint delivery's body carries.
func plannedCheckpoint(body string) (store.AuditCheckpoint, error) {
	var env struct {
		Data webhook.AuditCheckpointData `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return store.AuditCheckpoint{}, fmt.Errorf("read the planned audit.checkpoint: %w", err)
	}
	taken, err := time.Parse(time.RFC3339Nano, env.Data.TakenAt)
	if err != nil {
		return store.AuditCheckpoint{}, fmt.Errorf("read the planned audit.checkpoint: %w", err)
	}
	return store.AuditCheckpoint{ID: env.Data.CheckpointID, Seq: env.Data.Seq, Hash: env.Data.Hash, Kind: store.AuditCheckpointDaily, CreatedAt: taken}, nil
}
