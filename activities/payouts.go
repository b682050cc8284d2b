package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/payout/payoutops"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// PayoutSettings configures statements and confirmations.
type PayoutSettings struct {
	// Minimums is the program's minimum payout per currency; a currency not named has none.
	Minimums map[string]int64
	// ReminderAfter is how long a payout waits for its confirmation before payout.reminder, and again
	// before it moves to needs_review.
	ReminderAfter time.Duration
}

// Payouts holds the dependencies of the payout activities; it is registered once per worker.
type Payouts struct {
	Store    *store.Store
	Policy   retrypolicy.Policy
	Settings PayoutSettings
}

// ApproveEntriesInput is the time the plans' holds are measured at: the workflow's clock.
type ApproveEntriesInput struct {
	AsOf time.Time
}

// ApproveEntriesResult counts the entries approved.
type ApproveEntriesResult struct {
	Approved int
}

// ApproveEntries moves every pending entry whose hold has passed at AsOf to approved.
func (a *Payouts) ApproveEntries(ctx context.Context, in ApproveEntriesInput) (ApproveEntriesResult, error) {
	var res ApproveEntriesResult
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		var err error
		res.Approved, err = payoutops.ApproveDue(tx, "", in.AsOf)
		return err
	})
	return res, err
}

// ListPayableInput asks for a page of accounts with approved entries of events before End, after After.
type ListPayableInput struct {
	End   time.Time
	After store.Account
	Limit int
}

// ListPayableResult is a page of accounts, in (affiliate, currency) order.
type ListPayableResult struct {
	Accounts []store.Account
}

// ListPayable returns the next page of accounts a cycle makes statements for.
func (a *Payouts) ListPayable(ctx context.Context, in ListPayableInput) (ListPayableResult, error) {
	accounts, err := payoutops.PayableAccounts(a.Store.WithContext(ctx), in.End, in.After, in.Limit)
	return ListPayableResult{Accounts: accounts}, err
}

// CreateStatementInput names the account, the cycle and the period of a statement.
type CreateStatementInput struct {
	AffiliateID, Currency, Cycle string
	Period                       payout.Period
	WorkflowID                   string
}

// PayoutStep is where a payout stands after an activity, what deliveries to start and by which policy, and
// the reminder period, recorded in history so a running workflow keeps the one it started with.
type PayoutStep struct {
	PayoutID      string
	Status        string
	Deliveries    []DeliveryRef
	Policy        retrypolicy.Policy
	ReminderAfter time.Duration
}

// CreateStatement makes the account's statement for the period, once, and plans payout.requested in the
// same transaction when it is payable. Run again (a retry, a reset, a second schedule firing) it finds the
// statement and returns where it stands, with the deliveries still pending.
func (a *Payouts) CreateStatement(ctx context.Context, in CreateStatementInput) (PayoutStep, error) {
	step := PayoutStep{Policy: a.Policy, ReminderAfter: a.Settings.ReminderAfter}
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		p, _, err := payoutops.CreateStatement(tx, payoutops.NewStatement{
			Account: store.Account{AffiliateID: in.AffiliateID, Currency: in.Currency}, Cycle: in.Cycle, Period: in.Period,
			WorkflowID: in.WorkflowID, MinimumDefault: a.Settings.Minimums[in.Currency],
		}, time.Now().UTC())
		if err != nil {
			return err
		}
		step.PayoutID, step.Status = p.ID, p.Status
		if p.Status == payout.RolledOver {
			return nil
		}
		step.Deliveries, err = planPayoutEvent(tx, p, payout.EventRequested, p.CreatedAt)
		return err
	})
	if err != nil {
		return step, fmt.Errorf("statement of %s in %s for %s: %w", in.AffiliateID, in.Currency, in.Period.Key, err)
	}
	return step, nil
}

// PayoutInput names a payout.
type PayoutInput struct {
	PayoutID string
}

// RemindPayout sends payout.reminder for a payout still awaiting its confirmation.
func (a *Payouts) RemindPayout(ctx context.Context, in PayoutInput) (PayoutStep, error) {
	return a.advance(ctx, in.PayoutID, payout.Awaiting, payout.EventReminder)
}

// MarkNeedsReview moves a payout still awaiting its confirmation to needs_review.
func (a *Payouts) MarkNeedsReview(ctx context.Context, in PayoutInput) (PayoutStep, error) {
	return a.advance(ctx, in.PayoutID, payout.NeedsReview, "")
}

// advance moves a payout that still awaits confirmation to status and plans eventType (when set); for a payout
// confirmed meanwhile it plans the outcome instead, which the workflow then finishes with.
func (a *Payouts) advance(ctx context.Context, id, status, eventType string) (PayoutStep, error) {
	step := PayoutStep{Policy: a.Policy, ReminderAfter: a.Settings.ReminderAfter, PayoutID: id}
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		now := time.Now().UTC()
		p, moved, err := payoutops.Move(tx, id, status, now)
		if err != nil {
			return err
		}
		step.Status = p.Status
		if !moved {
			step.Deliveries, err = planPayoutOutcome(tx, p)
			return err
		}
		if eventType == "" {
			return nil
		}
		step.Deliveries, err = planPayoutEvent(tx, p, eventType, now)
		return err
	})
	return step, err
}

// PayoutOutcome returns where a payout stands and, once it is confirmed, the pending deliveries of its
// outcome event (payout.processed or payout.failed), planning them if the confirmation did not.
func (a *Payouts) PayoutOutcome(ctx context.Context, in PayoutInput) (PayoutStep, error) {
	step := PayoutStep{Policy: a.Policy, ReminderAfter: a.Settings.ReminderAfter, PayoutID: in.PayoutID}
	err := a.Store.Transaction(ctx, func(tx *store.Store) error {
		p, err := store.GetPayout(tx.DB, in.PayoutID, false)
		if err != nil {
			return err
		}
		step.Status = p.Status
		step.Deliveries, err = planPayoutOutcome(tx, p)
		return err
	})
	return step, err
}

// planPayoutOutcome plans payout.processed (paid) or payout.failed (failed) for a confirmed payout, once, and
// returns its pending deliveries; nothing for a payout not confirmed.
func planPayoutOutcome(tx *store.Store, p store.Payout) ([]DeliveryRef, error) {
	ev, ok := eventplan.PayoutOutcome(p)
	if !ok {
		return nil, nil
	}
	if _, err := planWebhookEvent(tx.DB, ev); err != nil {
		return nil, err
	}
	return pendingDeliveries(tx.DB, ev.Key)
}

// planPayoutEvent plans one payout event and returns its pending deliveries; payout.requested carries the
// statement with its lines.
func planPayoutEvent(tx *store.Store, p store.Payout, eventType string, at time.Time) ([]DeliveryRef, error) {
	var lines []store.PayoutLine
	if eventType == payout.EventRequested {
		var err error
		if lines, err = store.PayoutLines(tx.DB, p.ID); err != nil {
			return nil, err
		}
	}
	ev := eventplan.PayoutEvent(p, lines, eventType, at)
	if _, err := planWebhookEvent(tx.DB, ev); err != nil {
		return nil, err
	}
	return pendingDeliveries(tx.DB, ev.Key)
}
