package eventplan

import (
	"strconv"
	"time"

	"github.com/affrelay/affrelay/webhook"
)

// AuditCheckpoint is audit.checkpoint of one stored checkpoint; once per checkpoint (the key is its id).
func AuditCheckpoint(d webhook.AuditCheckpointData, at time.Time) Event {
	return Event{
		Key: webhook.EventKey(webhook.AuditCheckpoint, strconv.FormatUint(uint64(d.CheckpointID), 10)), Type: webhook.AuditCheckpoint, At: at, Data: d,
	}
}
