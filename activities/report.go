package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/commission/commissionrow"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/performance"
	"github.com/affrelay/affrelay/performance/performancerow"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
)

// ListAffiliatesInput asks for a page of affiliate ids after AfterID.
type ListAffiliatesInput struct {
	AfterID string
	Limit   int
}

// ListAffiliatesResult is a page of affiliate ids, in id order.
type ListAffiliatesResult struct {
	IDs []string
}

// ListAffiliates returns the next page of affiliate ids.
func (a *Activities) ListAffiliates(ctx context.Context, in ListAffiliatesInput) (ListAffiliatesResult, error) {
	var res ListAffiliatesResult
	var err error
	res.IDs, err = a.Store.Affiliates(ctx).IDsAfter(in.AfterID, in.Limit)
	return res, err
}

// StoreCommissionReportInput names the affiliate and the week [From, To) to report.
type StoreCommissionReportInput struct {
	AffiliateID string
	From, To    time.Time
}

// StoreCommissionReportResult is the stored report's id, whether this run stored it, and the commission.report
// deliveries to start, by the worker's delivery policy.
type StoreCommissionReportResult struct {
	ReportID   string
	Stored     bool
	Deliveries []DeliveryRef
	Policy     retrypolicy.Policy
}

// StoreCommissionReport writes the affiliate's report of the week, grouped by day, once, and plans its
// commission.report deliveries in the same transaction: the (affiliate, week) key and the report-keyed
// delivery ids make a retried or re-run activity store and plan nothing twice.
func (a *Activities) StoreCommissionReport(ctx context.Context, in StoreCommissionReportInput) (StoreCommissionReportResult, error) {
	res := StoreCommissionReportResult{Policy: a.Policy}
	err := a.Store.Transaction(ctx, func(txs *store.Store) error {
		q := txs.Affiliates(ctx)
		rows, err := q.EntriesFor(in.AffiliateID, in.From, in.To)
		if err != nil {
			return err
		}
		rep, err := commission.Summarize(commissionrow.Entries(rows), commission.GroupByDay)
		if err != nil {
			return err
		}
		body, err := json.Marshal(rep.Document(in.AffiliateID, in.From, in.To))
		if err != nil {
			return err
		}
		report := store.CommissionReport{
			ID: store.NewID("rpt"), AffiliateID: in.AffiliateID, PeriodStart: in.From, PeriodEnd: in.To, Body: string(body),
		}
		stored, created, err := q.StoreReport(report)
		if err != nil {
			return err
		}
		res.Stored, res.ReportID = created, stored.ID
		res.Deliveries, err = planWebhookEvent(txs.DB, eventplan.CommissionReport(stored))
		return err
	})
	if err != nil {
		return res, fmt.Errorf("store commission report of %s for %s: %w", in.AffiliateID, in.From.Format(time.DateOnly), err)
	}
	return res, nil
}

// ListReportSubscriptionsResult is the ids of the subscriptions to performance.report.
type ListReportSubscriptionsResult struct {
	IDs []string
}

// ListReportSubscriptions lists the subscriptions to performance.report.
func (a *Activities) ListReportSubscriptions(ctx context.Context) (ListReportSubscriptionsResult, error) {
	ids, err := store.ReportSubscriptions(a.Store.DB.WithContext(ctx), webhook.PerformanceReport)
	return ListReportSubscriptionsResult{IDs: ids}, err
}

// SendPerformanceReportInput names the subscription and the time of the run: the report covers the
// subscription's last full period before At, in its time zone.
type SendPerformanceReportInput struct {
	SubscriptionID string
	At             time.Time
}

// SendPerformanceReportResult is the period reported, whether this run planned its delivery, and the
// deliveries to start, by the worker's delivery policy.
type SendPerformanceReportResult struct {
	From, To   time.Time
	Planned    bool
	Deliveries []DeliveryRef
	Policy     retrypolicy.Policy
}

// SendPerformanceReport plans the subscription's performance.report of its last full period, once: a period
// already planned is not computed again, and its pending delivery is returned to be started (a run that
// stopped after planning). The report is read in its own transaction, the plan written in another.
func (a *Activities) SendPerformanceReport(ctx context.Context, in SendPerformanceReportInput) (SendPerformanceReportResult, error) {
	res := SendPerformanceReportResult{Policy: a.Policy}
	sub, err := a.Store.Webhooks(ctx).Subscription(in.SubscriptionID)
	if errors.Is(err, apperr.ErrNotFound) {
		return res, nil // deleted since it was listed
	}
	if err != nil {
		return res, err
	}
	loc, err := performance.LoadTimeZone(sub.Report.TimeZone)
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError("subscription "+sub.ID+" report_time_zone: "+err.Error(), "invalid_time_zone", err)
	}
	res.From, res.To = performance.Period(sub.Report.Frequency, loc, in.At)
	key := eventplan.PerformanceReport(sub, res.From, res.To, in.At, performance.Report{}).Key
	db := a.Store.DB.WithContext(ctx)
	planned, err := store.DeliveryPlanned(db, webhook.DeliveryID(key, sub.ID))
	if err != nil || planned {
		res.Deliveries, err = pendingDeliveries(db, key)
		return res, err
	}
	rep, err := performancerow.Read(ctx, a.Store, sub.AffiliateID, eventplan.PerformanceReportGroupBy(sub), res.From, res.To)
	if err != nil {
		return res, fmt.Errorf("performance report of subscription %s for %s: %w", sub.ID, res.From.Format(time.RFC3339), err)
	}
	ev := eventplan.PerformanceReport(sub, res.From, res.To, in.At, rep)
	err = a.Store.Transaction(ctx, func(tx *store.Store) error {
		pending, err := store.PlanWebhookEventTo(tx.DB, ev, []store.WebhookSubscription{sub})
		res.Deliveries, res.Planned = refsOf(pending), len(pending) > 0
		return err
	})
	return res, err
}
