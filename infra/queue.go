package infra

import (
	"context"
	"log/slog"
	"time"

	"github.com/affrelay/affrelay/store"
)

// QueueAlarm tracks whether the undelivered queue is over its threshold, so the alert fires once on the way
// up and clears once on the way down instead of repeating every check.
type QueueAlarm struct {
	Threshold int64
	firing    bool
}

// Observe takes the current depth and says whether the alarm just fired or just cleared.
func (a *QueueAlarm) Observe(depth int64) (fired, cleared bool) {
	over := depth >= a.Threshold
	fired, cleared = over && !a.firing, !over && a.firing
	a.firing = over
	return fired, cleared
}

// WatchQueueDepth checks the queue every interval until ctx ends and logs an error when it reaches the
// threshold: a growing queue means a systemic integration failure, not a transient error.
func WatchQueueDepth(ctx context.Context, queueDepth func(context.Context) (map[string]int64, error), threshold int64, interval time.Duration, logger *slog.Logger) {
	alarm := QueueAlarm{Threshold: threshold}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		depth, err := queueDepth(ctx)
		if err != nil {
			logger.Warn("queue depth check failed", "error", err)
			continue
		}
		total := depth[store.DeliveryPending] + depth[store.DeliveryNeedsReview]
		switch fired, cleared := alarm.Observe(total); {
		case fired:
			logger.Error("ALERT delivery queue depth at or over threshold", "depth", total, "threshold", threshold,
				"pending", depth[store.DeliveryPending], "needs_review", depth[store.DeliveryNeedsReview])
		case cleared:
			logger.Info("delivery queue depth back under threshold", "depth", total, "threshold", threshold)
		}
	}
}
