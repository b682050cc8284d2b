package activities

import (
	"context"
	"time"

	"github.com/affrelay/affrelay/store"
)

// RefirePageInput asks for the next deliveries of a bulk re-fire job after AfterID.
type RefirePageInput struct {
	Filter  store.RefireFilter
	AfterID string
	Limit   int
}

// RefireTarget is one delivery a bulk re-fire job re-fires.
type RefireTarget struct {
	DeliveryRef
	Status string
}

// RefirePage reads the next page of a bulk re-fire job's deliveries, by id.
func (a *Activities) RefirePage(ctx context.Context, in RefirePageInput) ([]RefireTarget, error) {
	ds, err := a.Store.Deliveries(ctx).RefirePage(in.Filter, in.AfterID, in.Limit)
	out := make([]RefireTarget, len(ds))
	for i, d := range ds {
		out[i] = RefireTarget{DeliveryRef: DeliveryRef{ID: d.ID, EndpointID: d.EndpointID, AffiliateID: d.AffiliateID}, Status: d.Status}
	}
	return out, err
}

// RefireProgressInput is one step of a bulk re-fire job: the deliveries it re-fired (with their status
// before) and how many it passed over.
type RefireProgressInput struct {
	JobID   string
	Reason  string
	Refired []RefireTarget
	Passed  int64
	At      time.Time
}

// RecordRefireProgress stores a step of a bulk re-fire job: one re-fire row per delivery and the job's counters.
func (a *Activities) RecordRefireProgress(ctx context.Context, in RefireProgressInput) error {
	rows := make([]store.DeliveryRefire, len(in.Refired))
	for i, t := range in.Refired {
		rows[i] = store.DeliveryRefire{DeliveryID: t.ID, JobID: in.JobID, Reason: in.Reason, PreviousStatus: t.Status, RequestedAt: in.At.UTC()}
	}
	return a.Store.Deliveries(ctx).RecordRefireProgress(in.JobID, rows, in.Passed, in.At)
}

// FinishRefireJob marks a bulk re-fire job completed.
func (a *Activities) FinishRefireJob(ctx context.Context, jobID string, at time.Time) error {
	return a.Store.Deliveries(ctx).FinishRefireJob(jobID, at)
}
