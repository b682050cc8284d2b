package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
)

// CommissionReportCron is when the weekly commission reports run: Mondays 06:00 UTC, for the week before.
const CommissionReportCron = "0 6 * * 1"

// CommissionReportScheduleID is the id of the Temporal Schedule that starts CommissionReportsWorkflow for
// the workers of a task queue.
func CommissionReportScheduleID(taskQueue string) string {
	return "commission-reports-weekly:" + taskQueue
}

// affiliatePage is how many affiliates one step of the workflow reports on.
const affiliatePage = 200

// continueAsNewAfter bounds the history: past this many events the workflow continues as new.
const continueAsNewAfter = 10000

// CommissionReportsInput says which week to report; zero WeekStart means the full week before the run.
// AfterID resumes after a continue-as-new.
type CommissionReportsInput struct {
	WeekStart time.Time
	AfterID   string
}

// CommissionReportsResult counts the affiliates reported on by this run and the reports it stored.
type CommissionReportsResult struct {
	WeekStart  time.Time
	Affiliates int
	Stored     int
}

// WeekBefore returns the Monday 00:00 UTC that starts the last full week before t.
func WeekBefore(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	sinceMonday := (int(day.Weekday()) + 6) % 7
	return day.AddDate(0, 0, -sinceMonday-7)
}

// CommissionReportsWorkflow stores one commission report per affiliate for a week, a page of affiliates
// at a time. Each report is keyed by (affiliate, week), so a re-run stores and emits nothing twice.
func CommissionReportsWorkflow(ctx workflow.Context, in CommissionReportsInput) (CommissionReportsResult, error) {
	if in.WeekStart.IsZero() {
		in.WeekStart = WeekBefore(workflow.Now(ctx))
	}
	res := CommissionReportsResult{WeekStart: in.WeekStart}
	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 0},
	})
	for {
		var page activities.ListAffiliatesResult
		if err := workflow.ExecuteActivity(actx, a.ListAffiliates, activities.ListAffiliatesInput{AfterID: in.AfterID, Limit: affiliatePage}).Get(ctx, &page); err != nil {
			return res, err
		}
		if len(page.IDs) == 0 {
			return res, nil
		}
		futures := make([]workflow.Future, len(page.IDs))
		for i, id := range page.IDs {
			futures[i] = workflow.ExecuteActivity(actx, a.StoreCommissionReport, activities.StoreCommissionReportInput{
				AffiliateID: id, From: in.WeekStart, To: in.WeekStart.AddDate(0, 0, 7),
			})
		}
		for _, f := range futures {
			var stored activities.StoreCommissionReportResult
			if err := f.Get(ctx, &stored); err != nil {
				return res, err
			}
			res.Affiliates++
			if stored.Stored {
				res.Stored++
			}
			if _, err := startDeliveries(ctx, stored.Deliveries, stored.Policy); err != nil {
				return res, err
			}
		}
		in.AfterID = page.IDs[len(page.IDs)-1]
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > continueAsNewAfter {
			return res, workflow.NewContinueAsNewError(ctx, CommissionReportsWorkflow, in)
		}
	}
}

// PerformanceReportCron is when the performance reports run: hourly, so each subscription's day, week or
// month goes out within the hour after it ends in the subscription's own time zone.
const PerformanceReportCron = "5 * * * *"

// PerformanceReportScheduleID is the id of the Temporal Schedule that starts PerformanceReportsWorkflow for
// the workers of a task queue.
func PerformanceReportScheduleID(taskQueue string) string {
	return "performance-reports:" + taskQueue
}

// PerformanceReportsInput is the time the reports are for; zero means the run's own start.
type PerformanceReportsInput struct {
	At time.Time
}

// PerformanceReportsResult counts the subscriptions looked at and the reports this run planned.
type PerformanceReportsResult struct {
	Subscriptions int
	Planned       int
}

// PerformanceReportsWorkflow sends every subscription to performance.report its last full period (daily,
// weekly or monthly in its time zone), once per subscription and period: an hourly run finds most periods
// already sent and plans nothing.
func PerformanceReportsWorkflow(ctx workflow.Context, in PerformanceReportsInput) (PerformanceReportsResult, error) {
	if in.At.IsZero() {
		in.At = workflow.Now(ctx)
	}
	var res PerformanceReportsResult
	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 0},
	})
	var subs activities.ListReportSubscriptionsResult
	if err := workflow.ExecuteActivity(actx, a.ListReportSubscriptions).Get(ctx, &subs); err != nil {
		return res, err
	}
	futures := make([]workflow.Future, len(subs.IDs))
	for i, id := range subs.IDs {
		futures[i] = workflow.ExecuteActivity(actx, a.SendPerformanceReport, activities.SendPerformanceReportInput{SubscriptionID: id, At: in.At})
	}
	for _, f := range futures {
		var sent activities.SendPerformanceReportResult
		if err := f.Get(ctx, &sent); err != nil {
			return res, err
		}
		res.Subscriptions++
		if sent.Planned {
			res.Planned++
		}
		if _, err := startDeliveries(ctx, sent.Deliveries, sent.Policy); err != nil {
			return res, err
		}
	}
	return res, nil
}
