package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/commission/commissionrow"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
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
