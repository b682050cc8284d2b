package payout

import (
	"time"

	"github.com/affrelay/affrelay/webhook"
)

// Webhook event types of payouts.
const (
	EventRequested = webhook.PayoutRequested
	EventReminder  = webhook.PayoutReminder
	EventProcessed = webhook.PayoutProcessed
	EventFailed    = webhook.PayoutFailed
)

// Money is an amount as a decimal string in its currency's precision.
type Money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// TotalsData are a statement's sums as decimal strings.
type TotalsData struct {
	CPA          string `json:"cpa"`
	RevShare     string `json:"revshare"`
	SubAffiliate string `json:"sub_affiliate"`
	Adjustments  string `json:"adjustments"`
	Net          string `json:"net"`
}

// LineData is one statement line.
type LineData struct {
	LedgerEntryID string    `json:"ledger_entry_id"`
	Kind          string    `json:"kind"`
	EventID       string    `json:"event_id,omitempty"`
	PlayerID      string    `json:"player_id,omitempty"`
	EventAt       time.Time `json:"event_at"`
	Amount        string    `json:"amount"`
}

// StatementData is a payout as the API and payout.requested show it.
type StatementData struct {
	PayoutID    string     `json:"payout_id"`
	AffiliateID string     `json:"affiliate_id"`
	Cycle       string     `json:"cycle"`
	Period      string     `json:"period"`
	PeriodStart time.Time  `json:"period_start"`
	PeriodEnd   time.Time  `json:"period_end"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason,omitempty"`
	Amount      Money      `json:"amount"`
	Totals      TotalsData `json:"totals"`
	ExternalRef string     `json:"external_ref,omitempty"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	Lines       []LineData `json:"lines,omitempty"`
}

// OutcomeData is the data of payout.reminder, payout.processed and payout.failed: the payout without lines.
type OutcomeData = StatementData
