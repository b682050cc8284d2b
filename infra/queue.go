package infra

import (
	"context"
	"log/slog"
	"time"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/opsalert"
	"github.com/affrelay/affrelay/store"
)

// QueueWatch checks the undelivered queue against its alarms (package opsalert). A change of an alarm is
// stored and announced (ops.queue_depth_exceeded or ops.queue_depth_recovered, planned in the same
// transaction) by whichever API process sees it first, so several processes announce it once; a firing alarm
// is also an ERROR line: a growing queue means a systemic integration failure, not a transient error.
type QueueWatch struct {
	Store  *store.Store
	Alarms opsalert.Config
	// NeedsReviewWindow is how far back the needs_review burst alarm counts deliveries entering review.
	NeedsReviewWindow time.Duration
	// SweepAfter is how long after it was planned an announcement delivery never attempted has its
	// DeliveryWorkflow started by the check (see Announcer.sweep).
	SweepAfter time.Duration
	Logger     *slog.Logger
	Announcer
}

// Run checks the queue every interval until ctx ends.
func (w *QueueWatch) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.Logger.Warn("queue depth check failed", "error", err)
		}
	}
}

// Check starts the announcements left unstarted, then reads the depths once, and stores and announces every
// alarm that changed.
func (w *QueueWatch) Check(ctx context.Context) error {
	now := time.Now().UTC()
	started, err := w.sweep(ctx, w.Store, now.Add(-w.SweepAfter))
	if err != nil {
		return err
	}
	if started > 0 {
		w.Logger.Info("started announcement deliveries left unstarted", "deliveries", started)
	}
	depths, err := w.read(ctx, now)
	if err != nil {
		return err
	}
	stored, err := w.Store.Ops(ctx).Alarms()
	if err != nil {
		return err
	}
	firing := map[string]bool{}
	for _, a := range stored {
		firing[a.Key] = a.Firing
	}
	for _, t := range opsalert.Evaluate(w.Alarms.Readings(depths), firing) {
		switched, pending, err := w.Store.Ops(ctx).SwitchAlarm(t.Key, t.Firing, t.Depth, now, func(seq int) store.WebhookEvent {
			return eventplan.QueueAlarm(t, seq, now)
		})
		if err != nil {
			return err
		}
		if !switched {
			continue // another process saw it first
		}
		if t.Firing {
			w.Logger.Error("ALERT delivery queue depth at or over threshold", "alarm", t.Key, "depth", t.Depth, "threshold", t.Threshold)
		} else {
			w.Logger.Info("delivery queue depth back under its lower mark", "alarm", t.Key, "depth", t.Depth, "recover_at", t.RecoverAt)
		}
		if err := w.announce(ctx, pending); err != nil {
			return err
		}
	}
	return nil
}

func (w *QueueWatch) read(ctx context.Context, now time.Time) (opsalert.Depths, error) {
	q := w.Store.Deliveries(ctx)
	var d opsalert.Depths
	byState, err := q.QueueDepth()
	if err != nil {
		return d, err
	}
	for _, n := range byState {
		d.Queue += n
	}
	if d.EnteredReview, err = q.EnteredReviewSince(now.Add(-w.NeedsReviewWindow)); err != nil {
		return d, err
	}
	if len(w.Alarms.TargetThresholds) > 0 {
		targets, err := q.DepthByTarget()
		if err != nil {
			return d, err
		}
		d.ByTarget = map[string]int64{}
		for _, t := range targets {
			d.ByTarget[t.TargetID] = t.Total
		}
	}
	return d, nil
}
