// Package payout is the pure logic of payouts: the status machine of ledger entries and payouts, payout
// cycles and their periods, statements with thresholds and carry, and the confirmation body. It does no I/O.
package payout

import (
	"fmt"
	"slices"
	"time"
)

// Ledger entry statuses. An entry is pending until its plan's hold has passed, then approved; an admin may
// put it on hold and release it; a confirmed payout makes it paid, for good.
const (
	EntryPending  = "pending"
	EntryApproved = "approved"
	EntryOnHold   = "on_hold"
	EntryPaid     = "paid"
)

// EntryStatuses lists every ledger entry status.
var EntryStatuses = []string{EntryPending, EntryApproved, EntryOnHold, EntryPaid}

// entryMoves is the entry state machine: from → the statuses it may move to.
var entryMoves = map[string][]string{
	EntryPending:  {EntryApproved, EntryOnHold},
	EntryApproved: {EntryOnHold, EntryPaid},
	EntryOnHold:   {EntryPending, EntryApproved},
	EntryPaid:     nil,
}

// CheckEntryMove says why an entry may not move from one status to another, or nil when it may.
func CheckEntryMove(from, to string) error {
	if !slices.Contains(entryMoves[from], to) {
		return fmt.Errorf("a %s entry cannot become %s", from, to)
	}
	return nil
}

// ReleasedStatus is the status an entry released from hold returns to: approved once its hold has passed.
func ReleasedStatus(approveAt, now time.Time) string {
	if now.Before(approveAt) {
		return EntryPending
	}
	return EntryApproved
}

// ApproveAt is when an entry's hold ends: holdDays after the event that earned it.
func ApproveAt(eventAt time.Time, holdDays int) time.Time {
	return eventAt.AddDate(0, 0, max(holdDays, 0))
}

// Payout statuses, as stored and as shown in the PayoutState search attribute.
const (
	// Awaiting is a statement sent to the operator (payout.requested), waiting for its confirmation.
	Awaiting = "awaiting_confirmation"
	// NeedsReview is a payout nobody confirmed within two reminder periods; it still accepts a confirmation.
	NeedsReview = "needs_review"
	// RolledOver is a statement below the minimum payout or with a negative net; its entries stay unpaid.
	RolledOver = "rolled_over"
	Paid       = "paid"
	Failed     = "failed"
)

// PayoutStatuses lists every payout status.
var PayoutStatuses = []string{Awaiting, NeedsReview, RolledOver, Paid, Failed}

// AwaitsConfirmation reports whether a payout in this status takes a confirmation.
func AwaitsConfirmation(status string) bool {
	return status == Awaiting || status == NeedsReview
}

// Final reports whether a payout's status can no longer change.
func Final(status string) bool {
	return status == Paid || status == Failed || status == RolledOver
}
