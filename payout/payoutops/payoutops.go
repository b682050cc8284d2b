// Package payoutops moves ledger entries and statements through their statuses: the rules of package payout
// (holds, allowed moves, thresholds, confirmations) applied to the stored entries and payouts through store's
// typed queries, inside the caller's transaction. Payout activities and the payouts service share it.
package payoutops

import (
	"time"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/store"
)

// ApproveDue moves every pending entry (of the affiliate; of all when affiliateID is "") whose plan's hold
// has passed at asOf to approved, recording each move, and returns how many it moved. Entries without a plan
// have no hold.
func ApproveDue(tx *store.Store, affiliateID string, asOf time.Time) (int, error) {
	rows, err := store.EntriesWithHold(tx.DB, payout.EntryPending, affiliateID, asOf)
	if err != nil {
		return 0, err
	}
	var ids []string
	for _, r := range rows {
		if !payout.ApproveAt(r.EventAt, r.HoldDays).After(asOf) {
			ids = append(ids, r.ID)
		}
	}
	moved := 0
	for chunk := range chunks(ids, 500) {
		n, err := moveEntries(tx, chunk, payout.EntryPending, payout.EntryApproved, "hold", "", "the plan's hold has passed", asOf)
		if err != nil {
			return moved, err
		}
		moved += n
	}
	return moved, nil
}

func chunks(ids []string, size int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(ids) > 0 {
			n := min(size, len(ids))
			if !yield(ids[:n]) {
				return
			}
			ids = ids[n:]
		}
	}
}

// moveEntries moves the entries among ids that are in status from to status to, if payout allows the move,
// and records each move.
func moveEntries(tx *store.Store, ids []string, from, to, actor, payoutID, reason string, at time.Time) (int, error) {
	if err := payout.CheckEntryMove(from, to); err != nil {
		return 0, err
	}
	return store.MoveEntries(tx.DB, ids, from, to, actor, payoutID, reason, at)
}

// SetHold puts an entry on hold (hold true) or releases it, for the reason given. A released entry is
// approved if its plan's hold has passed at now, else pending. An entry on a statement awaiting confirmation
// or already paid cannot be held.
func SetHold(tx *store.Store, entryID string, hold bool, reason string, now time.Time) (store.LedgerEntry, error) {
	e, err := store.LockEntry(tx.DB, entryID)
	if err != nil {
		return e, err
	}
	to := payout.EntryOnHold
	if !hold {
		if e.Status != payout.EntryOnHold {
			return e, apperr.Conflict("ledger entry %s is %s, not on_hold", e.ID, e.Status)
		}
		holdDays, err := store.PlanHoldDays(tx.DB, e.PlanID)
		if err != nil {
			return e, err
		}
		to = payout.ReleasedStatus(payout.ApproveAt(e.EventAt, holdDays), now)
	} else {
		locked, ok, err := store.LockedLine(tx.DB, e.ID)
		if err != nil {
			return e, err
		}
		if ok && e.Status != payout.EntryPaid {
			return e, apperr.Conflict("ledger entry %s is on payout %s, which awaits confirmation", e.ID, locked.PayoutID)
		}
	}
	if err := payout.CheckEntryMove(e.Status, to); err != nil {
		return e, apperr.Conflict("ledger entry %s: %v", e.ID, err)
	}
	if _, err := moveEntries(tx, []string{e.ID}, e.Status, to, "admin", "", reason, now); err != nil {
		return e, err
	}
	e.Status = to
	return e, nil
}

// PayableAccounts returns, after the account after, up to limit accounts with approved entries of events
// before end that no statement holds.
func PayableAccounts(tx *store.Store, end time.Time, after store.Account, limit int) ([]store.Account, error) {
	return store.PayableAccounts(tx.DB, payout.EntryApproved, end, after, limit)
}

// NewStatement is the account and period a statement is made for.
type NewStatement struct {
	store.Account
	Cycle      string
	Period     payout.Period
	WorkflowID string
	// MinimumDefault is the program's minimum payout in the currency.
	MinimumDefault int64
}

// CreateStatement makes the account's statement of the period, once. It takes every approved entry no
// statement holds with an event before the period's end (late entries of earlier periods included), sums it,
// and applies the threshold: a payable statement locks its lines; a rolled-over one keeps them only as a
// record. When the statement exists, it is returned as it is (created false). The affiliate row is locked
// first, so two statements of one affiliate are never made at once.
func CreateStatement(tx *store.Store, in NewStatement, now time.Time) (store.Payout, bool, error) {
	if err := store.LockAffiliate(tx.DB, in.AffiliateID); err != nil {
		return store.Payout{}, false, err
	}
	p, ok, err := store.Statement(tx.DB, in.Account, in.Period.Key)
	if ok || err != nil {
		return p, false, err
	}
	// Locked (PostgreSQL), so an admin's hold of one of them waits for this statement and then finds it on it.
	entries, err := store.LockUnlockedEntries(tx.DB, payout.EntryApproved, in.Account, in.Period.End)
	if err != nil {
		return p, false, err
	}
	minimum, err := store.PayoutMinimum(tx.DB, in.AffiliateID, in.Currency, in.MinimumDefault)
	if err != nil {
		return p, false, err
	}
	lines := make([]payout.Line, len(entries))
	for i, e := range entries {
		lines[i] = payout.Line{EntryID: e.ID, Kind: e.Kind, EventID: e.EventID, PlayerID: e.PlayerID, EventAt: e.EventAt.UTC(), AmountMinor: e.AmountMinor}
	}
	st := payout.Build(lines, in.Currency, minimum)
	p = store.Payout{
		ID: store.NewID("pay"), AffiliateID: in.AffiliateID, Period: in.Period.Key, Currency: in.Currency, Cycle: in.Cycle,
		PeriodStart: in.Period.Start, PeriodEnd: in.Period.End, Status: st.Status, Reason: st.Reason, WorkflowID: in.WorkflowID,
		CPAMinor: st.Totals.CPAMinor, RevShareMinor: st.Totals.RevShareMinor, SubAffiliateMinor: st.Totals.SubAffiliateMinor,
		AdjustmentsMinor: st.Totals.AdjustmentsMinor, NetMinor: st.Totals.NetMinor, Lines: len(st.Lines), CreatedAt: now, UpdatedAt: now,
	}
	rows := make([]store.PayoutLine, len(st.Lines))
	for i, l := range st.Lines {
		rows[i] = store.PayoutLine{PayoutID: p.ID, LedgerEntryID: l.EntryID, Kind: l.Kind, EventID: l.EventID, PlayerID: l.PlayerID, EventAt: l.EventAt, AmountMinor: l.AmountMinor}
		if st.Status == payout.Awaiting {
			rows[i].LockedEntryID = &rows[i].LedgerEntryID
		}
	}
	if err := store.InsertStatement(tx.DB, &p, rows); err != nil {
		return p, false, err
	}
	return p, true, nil
}

// Confirm applies an operator's confirmation to a payout awaiting one: paid makes its entries paid; failed
// releases them, still approved, to the next cycle. The same confirmation again (same outcome and
// external_ref) changes nothing and returns applied false; any other confirmation of a payout that is no
// longer awaiting one is ErrConflict, as is an external_ref another payout already has.
func Confirm(tx *store.Store, id string, c payout.Confirmation, now time.Time) (store.Payout, bool, error) {
	p, err := store.GetPayout(tx.DB, id, true)
	if err != nil {
		return p, false, err
	}
	if !payout.AwaitsConfirmation(p.Status) {
		if p.ExternalRef != nil && c.Matches(p.Status, *p.ExternalRef) {
			return p, false, nil
		}
		if p.ExternalRef != nil {
			return p, false, apperr.Conflict("payout %s was already confirmed %s with external_ref %q", p.ID, p.Status, *p.ExternalRef)
		}
		return p, false, apperr.Conflict("payout %s is %s, not awaiting confirmation", p.ID, p.Status)
	}
	taken, err := store.ExternalRefTaken(tx.DB, c.ExternalRef, p.ID)
	if err != nil {
		return p, false, err
	}
	if taken {
		return p, false, apperr.Conflict("external_ref %q belongs to another payout", c.ExternalRef)
	}
	entryIDs, err := store.PayoutEntryIDs(tx.DB, p.ID)
	if err != nil {
		return p, false, err
	}
	ref := c.ExternalRef
	updates := map[string]any{"status": c.Status, "external_ref": ref, "confirmed_at": now, "updated_at": now}
	p.Status, p.ExternalRef, p.ConfirmedAt = c.Status, &ref, &now
	if c.Status == payout.ConfirmPaid {
		paidAt := c.PaidAt
		updates["paid_at"], p.PaidAt = paidAt, &paidAt
		for chunk := range chunks(entryIDs, 500) {
			if _, err := moveEntries(tx, chunk, payout.EntryApproved, payout.EntryPaid, "payout", p.ID, "paid with external_ref "+ref, now); err != nil {
				return p, false, err
			}
		}
	} else {
		updates["reason"], p.Reason = c.Reason, c.Reason
		if err := store.ReleaseLines(tx.DB, p.ID); err != nil {
			return p, false, err
		}
	}
	return p, true, store.UpdatePayout(tx.DB, p.ID, updates)
}

// Move moves a payout awaiting confirmation on to status (needs_review) or, with status equal to its own, only
// stamps reminded_at; moved false when the payout was no longer awaiting confirmation.
func Move(tx *store.Store, id, status string, now time.Time) (store.Payout, bool, error) {
	p, err := store.GetPayout(tx.DB, id, true)
	if err != nil || !payout.AwaitsConfirmation(p.Status) {
		return p, false, err
	}
	updates := map[string]any{"status": status, "updated_at": now}
	if status == p.Status {
		updates = map[string]any{"reminded_at": now, "updated_at": now}
		p.RemindedAt = &now
	}
	p.Status = status
	return p, true, store.UpdatePayout(tx.DB, p.ID, updates)
}

// ToPay lists a period's payouts that await payment (awaiting confirmation or in review), by affiliate and
// currency, with the affiliate's name and email.
func ToPay(tx *store.Store, period string) ([]store.PayoutToPay, error) {
	return store.PayoutsToPay(tx.DB, period, []string{payout.Awaiting, payout.NeedsReview})
}
