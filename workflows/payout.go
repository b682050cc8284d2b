package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/affrelay/affrelay/activities"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/store"
)

// PayoutStateKey is the search attribute that shows where a PayoutWorkflow stands: awaiting_confirmation,
// needs_review, paid, failed or rolled_over. `PayoutState = "needs_review"` lists the payouts nobody confirmed.
var PayoutStateKey = temporal.NewSearchAttributeKeyKeyword("PayoutState")

// PayoutConfirmedSignal tells a PayoutWorkflow that its payout's confirmation was recorded; the workflow
// reads the outcome from the database, so a repeated or stray signal changes nothing.
const PayoutConfirmedSignal = "payout-confirmed"

// PayoutScheduleID is the id of the Temporal Schedule that runs the payout cycle: "payouts:<cycle>" for the
// default task queue, with the task queue appended for any other (so test processes never share one).
func PayoutScheduleID(cycle, taskQueue string) string {
	if taskQueue == DefaultTaskQueue {
		return "payouts:" + cycle
	}
	return "payouts:" + cycle + ":" + taskQueue
}

// DefaultTaskQueue is the task queue of a default installation.
const DefaultTaskQueue = "affrelay"

// PayoutWorkflowID is the business key of one statement: an affiliate's payout in a currency for a period.
func PayoutWorkflowID(affiliateID, period, currency string) string {
	return "payout:" + IDPart(affiliateID) + ":" + period + ":" + currency
}

// PayoutCycleWorkflowID is the id of a cycle run by hand for a period.
func PayoutCycleWorkflowID(cycle, period string) string {
	return "payout-cycle:" + cycle + ":" + period
}

// payoutAccountPage is how many accounts one step of a cycle starts statements for.
const payoutAccountPage = 200

// PayoutCycleInput is the cycle's kind and time zone and, for a run by hand, the period; an empty Period
// means the last whole period before the run.
type PayoutCycleInput struct {
	Cycle    string
	TimeZone string
	Period   string
	// After resumes after a continue-as-new.
	After store.Account
}

// PayoutCycleResult is the period stated and how many statements this run started.
type PayoutCycleResult struct {
	Period  string
	Started int
	// Skipped counts accounts whose statement for the period was started before (a schedule firing twice).
	Skipped int
}

// PayoutCycleWorkflow approves the entries whose hold has passed, then starts one PayoutWorkflow per account
// (affiliate and currency) with approved entries before the period's end. Statement ids are business keys, so
// a second run of the same period starts nothing twice.
func PayoutCycleWorkflow(ctx workflow.Context, in PayoutCycleInput) (PayoutCycleResult, error) {
	cycle, err := payout.NewCycle(in.Cycle, in.TimeZone)
	if err != nil {
		return PayoutCycleResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidCycle", err)
	}
	now := workflow.Now(ctx)
	period := cycle.PeriodBefore(now)
	if in.Period != "" {
		if period, err = cycle.ParsePeriod(in.Period); err != nil {
			return PayoutCycleResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidPeriod", err)
		}
	} else if cycle.Kind == payout.Biweekly && now.Sub(cycle.PeriodOf(now).Start) >= 7*24*time.Hour {
		// The schedule fires weekly; a bi-weekly period is stated in the week after it ends, not the next.
		return PayoutCycleResult{Period: period.Key}, nil
	}
	res := PayoutCycleResult{Period: period.Key}
	var a *activities.Payouts
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 0},
	})
	if in.After == (store.Account{}) {
		if err := workflow.ExecuteActivity(actx, a.ApproveEntries, activities.ApproveEntriesInput{AsOf: now}).Get(ctx, nil); err != nil {
			return res, err
		}
	}
	for {
		var page activities.ListPayableResult
		if err := workflow.ExecuteActivity(actx, a.ListPayable, activities.ListPayableInput{End: period.End, After: in.After, Limit: payoutAccountPage}).Get(ctx, &page); err != nil {
			return res, err
		}
		if len(page.Accounts) == 0 {
			return res, nil
		}
		var starts []workflow.ChildWorkflowFuture
		for _, acc := range page.Accounts {
			cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
				WorkflowID: PayoutWorkflowID(acc.AffiliateID, period.Key, acc.Currency),
				// The payout waits days for its confirmation; the cycle does not.
				ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
				WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
				TypedSearchAttributes: temporal.NewSearchAttributes(AffiliateIDKey.ValueSet(acc.AffiliateID)),
			})
			starts = append(starts, workflow.ExecuteChildWorkflow(cctx, PayoutWorkflow, PayoutInput{
				AffiliateID: acc.AffiliateID, Currency: acc.Currency, Cycle: cycle.Kind, Period: period,
			}))
		}
		for _, f := range starts {
			err := f.GetChildWorkflowExecution().Get(ctx, nil)
			switch {
			case err == nil:
				res.Started++
			case temporal.IsWorkflowExecutionAlreadyStartedError(err):
				res.Skipped++
			default:
				return res, err
			}
		}
		in.After = page.Accounts[len(page.Accounts)-1]
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > continueAsNewAfter {
			in.Period = period.Key
			return res, workflow.NewContinueAsNewError(ctx, PayoutCycleWorkflow, in)
		}
	}
}

// PayoutInput names the account and period of one statement.
type PayoutInput struct {
	AffiliateID, Currency, Cycle string
	Period                       payout.Period
}

// PayoutResult is the payout made and where it ended.
type PayoutResult struct {
	PayoutID string
	Status   string
}

// PayoutWorkflow makes an affiliate's statement for a period, asks the operator to pay it (payout.requested),
// waits for the confirmation (reminding once, then needs_review) and announces the outcome. Every decision is
// in the database under the payout's unique key, so a reset to the first task, a replay or a second start
// finds the payout as it stands and never pays it twice.
func PayoutWorkflow(ctx workflow.Context, in PayoutInput) (PayoutResult, error) {
	p := &payoutRun{in: in}
	p.setup(ctx)
	return p.run(ctx)
}

type payoutRun struct {
	in        PayoutInput
	confirmed workflow.ReceiveChannel
	actx      workflow.Context
}

func (p *payoutRun) setup(ctx workflow.Context) {
	p.confirmed = workflow.GetSignalChannel(ctx, PayoutConfirmedSignal)
	p.actx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 0},
	})
}

// step runs one payout activity, records the state it reports and starts its deliveries.
func (p *payoutRun) step(ctx workflow.Context, activity any, input any) (activities.PayoutStep, error) {
	var s activities.PayoutStep
	if err := workflow.ExecuteActivity(p.actx, activity, input).Get(ctx, &s); err != nil {
		return s, err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, PayoutStateKey.ValueSet(s.Status)); err != nil {
		return s, err
	}
	_, err := startDeliveries(ctx, s.Deliveries, s.Policy)
	return s, err
}

func (p *payoutRun) run(ctx workflow.Context) (PayoutResult, error) {
	var a *activities.Payouts
	s, err := p.step(ctx, a.CreateStatement, activities.CreateStatementInput{
		AffiliateID: p.in.AffiliateID, Currency: p.in.Currency, Cycle: p.in.Cycle, Period: p.in.Period,
		WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
	})
	if err != nil {
		return PayoutResult{}, err
	}
	res := PayoutResult{PayoutID: s.PayoutID, Status: s.Status}
	if !payout.AwaitsConfirmation(s.Status) {
		// Rolled over, or confirmed before a reset: announce an outcome not yet announced and end.
		s, err = p.step(ctx, a.PayoutOutcome, activities.PayoutInput{PayoutID: s.PayoutID})
		res.Status = s.Status
		return res, err
	}
	// Reminder, then needs_review, each after ReminderAfter without a confirmation; then wait on.
	stages := []any{a.RemindPayout, a.MarkNeedsReview}
	for {
		var timer workflow.Future
		if len(stages) > 0 {
			timer = workflow.NewTimer(ctx, s.ReminderAfter)
		}
		for fired := false; !fired; {
			signalled := false
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(p.confirmed, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
				signalled = true
			})
			if timer != nil {
				sel.AddFuture(timer, func(workflow.Future) { fired = true })
			}
			sel.Select(ctx)
			next := activities.PayoutInput{PayoutID: res.PayoutID}
			var err error
			if signalled {
				s, err = p.step(ctx, a.PayoutOutcome, next)
			} else {
				s, err = p.step(ctx, stages[0], next)
				stages = stages[1:]
			}
			if err != nil {
				return res, err
			}
			res.Status = s.Status
			if payout.Final(s.Status) {
				return res, nil
			}
		}
	}
}
