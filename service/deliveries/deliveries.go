// Package deliveries is the application service for outbound deliveries: listing them with their attempts,
// an operator's redeliver or skip of one in needs_review, and the undelivered queue: its depth and alarms.
package deliveries

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/service/start"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Service lists deliveries and sends operators' decisions to their workflows.
type Service struct {
	Store    *store.Store
	Temporal client.Client
	// Start and Policy start the DeliveryWorkflows of deliveries planned outside a workflow (queue alarms).
	Start  start.Starter
	Policy retrypolicy.Policy
}

// Filter narrows a deliveries listing; empty fields match everything.
type Filter = store.DeliveryFilter

// WithAttempts is a delivery, every attempt made so far, and its re-fires.
type WithAttempts struct {
	store.Delivery
	AttemptLog []store.DeliveryAttempt
	Refires    []store.DeliveryRefire
}

// List lists deliveries, newest first, with their attempts; afterID, when set, is the last delivery of the
// previous page.
func (s *Service) List(ctx context.Context, f Filter, afterID string) ([]WithAttempts, error) {
	q := s.Store.Deliveries(ctx)
	if afterID != "" {
		after, err := q.Get(afterID)
		if errors.Is(err, apperr.ErrNotFound) {
			return nil, apperr.Invalid("after", "names no delivery")
		}
		if err != nil {
			return nil, err
		}
		f.After = &after
	}
	ds, err := q.ListByFilter(f)
	if err != nil {
		return nil, err
	}
	out := make([]WithAttempts, len(ds))
	ids := make([]string, len(ds))
	index := map[string]int{}
	for i, d := range ds {
		out[i].Delivery = d
		ids[i] = d.ID
		index[d.ID] = i
	}
	attempts, err := q.AttemptsOf(ids)
	if err != nil {
		return nil, err
	}
	for _, a := range attempts {
		i := index[a.DeliveryID]
		out[i].AttemptLog = append(out[i].AttemptLog, a)
	}
	refires, err := q.RefiresOf(ids)
	if err != nil {
		return nil, err
	}
	for _, r := range refires {
		i := index[r.DeliveryID]
		out[i].Refires = append(out[i].Refires, r)
	}
	return out, nil
}

// Refire sends a delivery again, whatever its state but pending (being attempted already): a new attempt
// series under the same delivery id and Idempotency-Key, e.g. after the affiliate says they lost a delivered
// one. The reason is stored with the re-fire. It returns the delivery as it was.
func (s *Service) Refire(ctx context.Context, deliveryID, reason string) (store.Delivery, error) {
	d, err := s.Store.Deliveries(ctx).Get(deliveryID)
	if err != nil {
		return d, err
	}
	action, ok := workflows.RefireAction(d.Status)
	if !ok {
		return d, apperr.Conflict("delivery %s is %s: it is being attempted already", d.ID, d.Status)
	}
	if action == workflows.RefireBySignal {
		err = s.signal(ctx, d, workflows.RedeliverSignal)
	} else {
		err = s.startRefire(ctx, d, reason)
	}
	if err != nil {
		return d, err
	}
	return d, s.Store.Deliveries(ctx).RecordRefires([]store.DeliveryRefire{{
		DeliveryID: d.ID, Reason: reason, PreviousStatus: d.Status, RequestedAt: time.Now().UTC(),
	}})
}

// startRefire starts a new run of an ended delivery's workflow that re-fires it.
func (s *Service) startRefire(ctx context.Context, d store.Delivery, reason string) error {
	running, err := s.Start.Again(ctx, workflows.DeliveryWorkflowID(d.ID), deliveryAttributes(d), workflows.DeliveryWorkflow,
		workflows.DeliveryInput{DeliveryID: d.ID, Policy: s.Policy, Refire: &workflows.Refire{Reason: reason}})
	if running {
		return apperr.Conflict("delivery %s is %s but its workflow is still running; try again shortly", d.ID, d.Status)
	}
	return err
}

// deliveryAttributes are the search attributes a DeliveryWorkflow starts with.
func deliveryAttributes(d store.Delivery) []temporal.SearchAttributeUpdate {
	return []temporal.SearchAttributeUpdate{
		workflows.DeliveryStateKey.ValueSet(workflows.DeliveryStatePending), workflows.AffiliateIDKey.ValueSet(d.AffiliateID),
	}
}

// Redeliver starts a new attempt series of a delivery waiting in needs_review.
func (s *Service) Redeliver(ctx context.Context, deliveryID string) error {
	return s.decide(ctx, deliveryID, workflows.RedeliverSignal)
}

// Skip gives up a delivery waiting in needs_review for good.
func (s *Service) Skip(ctx context.Context, deliveryID string) error {
	return s.decide(ctx, deliveryID, workflows.SkipSignal)
}

// decide sends an operator's decision to a delivery waiting in needs_review.
func (s *Service) decide(ctx context.Context, deliveryID, signal string) error {
	d, err := s.Store.Deliveries(ctx).Get(deliveryID)
	if err != nil {
		return err
	}
	if d.Status != store.DeliveryNeedsReview {
		return apperr.Conflict("delivery %s is %s, not needs_review", d.ID, d.Status)
	}
	return s.signal(ctx, d, signal)
}

// signal sends signal to the workflow of delivery d.
func (s *Service) signal(ctx context.Context, d store.Delivery, signal string) error {
	err := s.Temporal.SignalWorkflow(ctx, workflows.DeliveryWorkflowID(d.ID), "", signal, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return apperr.Conflict("the workflow of delivery %s is no longer running", d.ID)
	}
	return err
}

// QueueDepth counts the deliveries not yet delivered, by state (pending, retrying, needs_review, held).
func (s *Service) QueueDepth(ctx context.Context) (map[string]int64, error) {
	return s.Store.Deliveries(ctx).QueueDepth()
}

// QueueReport is the undelivered queue as ops see it.
type QueueReport struct {
	ByState  map[string]int64
	Total    int64
	ByTarget []store.TargetDepth
	// OldestPending is when the oldest pending or retrying delivery was planned; nil when none is.
	OldestPending *time.Time
	TopFailing    []store.FailingTarget
	Alarms        []store.OpsAlarm
}

// topFailingTargets is how many failing targets the queue report names.
const topFailingTargets = 10

// Queue reports the undelivered queue: its depth by state and by target, the oldest pending delivery, the
// targets failing most with their last error, and the alarms' states.
func (s *Service) Queue(ctx context.Context) (QueueReport, error) {
	q := s.Store.Deliveries(ctx)
	var r QueueReport
	var err error
	if r.ByState, err = q.QueueDepth(); err != nil {
		return r, err
	}
	for _, n := range r.ByState {
		r.Total += n
	}
	if r.ByTarget, err = q.DepthByTarget(); err != nil {
		return r, err
	}
	if r.OldestPending, err = q.OldestPending(); err != nil {
		return r, err
	}
	if r.TopFailing, err = q.TopFailingTargets(topFailingTargets); err != nil {
		return r, err
	}
	r.Alarms, err = s.Store.Ops(ctx).Alarms()
	return r, err
}

// StartDeliveries starts the DeliveryWorkflow of each planned delivery; one started before counts as started.
func (s *Service) StartDeliveries(ctx context.Context, ds []store.Delivery) error {
	for _, d := range ds {
		if _, err := s.Start.Once(ctx, workflows.DeliveryWorkflowID(d.ID), deliveryAttributes(d), workflows.DeliveryWorkflow,
			workflows.DeliveryInput{DeliveryID: d.ID, Policy: s.Policy}); err != nil {
			return err
		}
	}
	return nil
}

// RefireRequest is a bulk re-fire: which deliveries, why, and how many per target per second.
type RefireRequest struct {
	Filter        store.RefireFilter
	Reason        string
	RatePerSecond int
}

// DefaultRefireRate is a bulk re-fire's rate per target when the request names none.
const DefaultRefireRate = 10

// StartRefireJob counts the deliveries the filter matches now and, when there are any, stores a job and
// starts its RefireJobWorkflow. A filter that matches nothing answers a job with Total 0 and no id.
func (s *Service) StartRefireJob(ctx context.Context, r RefireRequest) (store.RefireJob, error) {
	r.Filter.CreatedBefore = time.Now().UTC()
	if r.RatePerSecond == 0 {
		r.RatePerSecond = DefaultRefireRate
	}
	q := s.Store.Deliveries(ctx)
	total, err := q.CountForRefire(r.Filter)
	if err != nil || total == 0 {
		return store.RefireJob{Total: total}, err
	}
	filter, err := json.Marshal(r.Filter)
	if err != nil {
		return store.RefireJob{}, err
	}
	job := store.RefireJob{
		ID: store.NewID("rfj"), Filter: string(filter), Reason: r.Reason, RatePerSecond: r.RatePerSecond,
		Total: total, State: store.RefireJobRunning,
	}
	if err := q.CreateRefireJob(&job); err != nil {
		return job, err
	}
	_, err = s.Start.Once(ctx, workflows.RefireJobWorkflowID(job.ID), nil, workflows.RefireJobWorkflow, workflows.RefireJobInput{
		JobID: job.ID, Filter: r.Filter, Reason: r.Reason, RatePerSecond: r.RatePerSecond, Policy: s.Policy,
	})
	if err != nil {
		return job, errors.Join(err, q.DeleteRefireJob(job.ID))
	}
	return job, nil
}

// RefireJob reads a bulk re-fire job and its progress.
func (s *Service) RefireJob(ctx context.Context, id string) (store.RefireJob, error) {
	return s.Store.Deliveries(ctx).RefireJob(id)
}

// What re-enabling a target does with its held deliveries.
const (
	HeldSend    = "send"
	HeldDiscard = "discard"
)

// HeldRelease is what re-enabling a target did with its held deliveries: sent them by a bulk re-fire job
// (JobID), or discarded them; Count is how many.
type HeldRelease struct {
	Action string
	Count  int64
	JobID  string
}

// ReleaseHeld sends (by a bulk re-fire job, rate-limited like any) or discards (skipped, with the reason) the
// deliveries held while the target was disabled; the reason is stored with each.
func (s *Service) ReleaseHeld(ctx context.Context, targetID, action, reason string) (HeldRelease, error) {
	if action == HeldDiscard {
		n, err := s.Store.Deliveries(ctx).DiscardHeld(targetID, "discarded when its target was re-enabled: "+reason, time.Now())
		return HeldRelease{Action: action, Count: n}, err
	}
	job, err := s.StartRefireJob(ctx, RefireRequest{
		Filter: store.RefireFilter{Statuses: []string{store.DeliveryHeld}, EndpointID: targetID}, Reason: reason,
	})
	return HeldRelease{Action: HeldSend, Count: job.Total, JobID: job.ID}, err
}
