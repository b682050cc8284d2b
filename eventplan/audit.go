package eventplan

import (
	"time"

	"github.com/affrelay/affrelay/webhook"
)

// AuditCheckpointKey is the key of the audit.checkpoint a run of the checkpoint workflow (its workflow id)
// sends: one run sends one checkpoint, however often its activity is tried.
func AuditCheckpointKey(workflowID string) string {
	return webhook.EventKey(webhook.AuditCheckpoint, workflowID)
}

// AuditCheckpoint is audit.checkpoint of one stored checkpoint, under key (AuditCheckpointKey).
func AuditCheckpoint(key string, d webhook.AuditCheckpointData, at time.Time) Event {
	return Event{Key: key, Type: webhook.AuditCheckpoint, At: at, Data: d}
}
