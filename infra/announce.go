package infra

import (
	"context"
	"time"

	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// Announcer starts the DeliveryWorkflows of the deliveries an announcement planned. A start that fails is not
// kept in memory: the queue check's sweep (Announcer.sweep) starts every announcement delivery still pending
// and never attempted, so one whose start failed in a process that then died is sent as well.
type Announcer struct {
	// Start starts the DeliveryWorkflows of an announcement's deliveries; one started before counts as started.
	Start func(context.Context, []store.Delivery) error
}

// announcedEvents are the events API processes announce themselves (QueueWatch, SecretWatch); every other
// delivery is started by the workflow that planned it, which Temporal keeps running.
var announcedEvents = []string{webhook.OpsQueueDepthExceeded, webhook.OpsQueueDepthRecovered, webhook.SecretExpiring}

// sweepBatch bounds the deliveries one sweep starts; the rest wait for the next check.
const sweepBatch = 200

// announce starts an announcement's deliveries; if that fails the sweep starts them later.
func (a *Announcer) announce(ctx context.Context, deliveries []store.Delivery) error {
	return a.Start(ctx, deliveries)
}

// sweep starts the DeliveryWorkflow of every announcement delivery planned before plannedBefore that is still
// pending and was never attempted. Starting is idempotent (the workflow id is the delivery's), so one whose
// workflow runs already, waiting for its receiver, is left as it is.
func (a *Announcer) sweep(ctx context.Context, s *store.Store, plannedBefore time.Time) (int, error) {
	ds, err := s.Deliveries(ctx).Unattempted(announcedEvents, plannedBefore, sweepBatch)
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	return len(ds), a.Start(ctx, ds)
}
