// Package payouts is the application service of payouts: running a cycle by hand, confirmations, statements
// and their exports, commission statuses (hold and release), minimum payouts and payouts-scoped API keys.
package payouts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/payout/payoutops"
	"github.com/affrelay/affrelay/service/integrations"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Service is the payouts application service.
type Service struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	// Cycle is the configured payout cycle; periods run by hand are of it.
	Cycle payout.Cycle
	// Now is the clock; tests may fix it.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// Run starts the cycle for a period that has ended, as the Schedule would. Running a period again is safe:
// statements already made are found, not made twice; accounts with new approved entries get theirs.
func (s *Service) Run(ctx context.Context, periodKey string) (string, payout.Period, error) {
	p, err := s.Cycle.ParsePeriod(periodKey)
	if err != nil {
		return "", p, &apperr.FieldError{Field: "period", Message: err.Error()}
	}
	if p.End.After(s.now()) {
		return "", p, &apperr.FieldError{Field: "period", Message: fmt.Sprintf("%s has not ended yet (it ends %s)", p.Key, p.End.Format(time.RFC3339))}
	}
	id := workflows.PayoutCycleWorkflowID(s.Cycle.Kind, p.Key)
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: s.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}, workflows.PayoutCycleWorkflow, workflows.PayoutCycleInput{Cycle: s.Cycle.Kind, TimeZone: s.Cycle.Location.String(), Period: p.Key})
	if err != nil {
		return id, p, fmt.Errorf("start %s: %w", id, err)
	}
	return id, p, nil
}

// ConfirmResult is a confirmed payout and whether this call applied the confirmation (false: the same
// confirmation was recorded before).
type ConfirmResult struct {
	Payout  payout.StatementData
	Applied bool
}

// Confirm records the operator's confirmation of a payout and plans its outcome event in one transaction,
// then tells the payout's workflow. An amount or currency that differs from the statement's is refused
// before anything changes; the same confirmation twice is applied once; a conflicting one is a conflict.
func (s *Service) Confirm(ctx context.Context, id string, c payout.Confirmation) (ConfirmResult, error) {
	var res ConfirmResult
	var p store.Payout
	err := s.Store.Transaction(ctx, func(tx *store.Store) error {
		current, err := store.GetPayout(tx.DB, id, true)
		if err != nil {
			return err
		}
		if c.HasAmount && (c.Currency != current.Currency || c.AmountMinor != current.NetMinor) {
			return &apperr.FieldError{Field: "amount", Message: fmt.Sprintf("%s %s is not the payout's %s %s",
				money.Format(c.AmountMinor, c.Currency), c.Currency, money.Format(current.NetMinor, current.Currency), current.Currency)}
		}
		if p, res.Applied, err = payoutops.Confirm(tx, id, c, s.now()); err != nil {
			return err
		}
		if ev, ok := eventplan.PayoutOutcome(p); ok {
			_, err = store.PlanWebhookEvent(tx.DB, ev)
		}
		return err
	})
	if err != nil {
		return res, err
	}
	// The workflow reads the outcome from the database; if this signal is lost, the same confirmation again
	// sends it again, and the workflow's reminder step finds the outcome too.
	err = s.Temporal.SignalWorkflow(ctx, p.WorkflowID, "", workflows.PayoutConfirmedSignal, nil)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return res, fmt.Errorf("payout %s is confirmed; telling its workflow failed, so send the same confirmation again: %w", id, err)
	}
	res.Payout = eventplan.PayoutDocument(p, nil)
	return res, nil
}

// Payout returns a payout's statement with its lines.
func (s *Service) Payout(ctx context.Context, id string) (payout.StatementData, error) {
	db := s.Store.DB.WithContext(ctx)
	p, err := store.GetPayout(db, id, false)
	if err != nil {
		return payout.StatementData{}, err
	}
	lines, err := store.PayoutLines(db, id)
	return eventplan.PayoutDocument(p, lines), err
}

// Filter narrows a payouts listing. Cursor is the next_cursor of the page before.
type Filter struct {
	Status, AffiliateID, Period, Cursor string
	Limit                               int
}

// List returns a page of payouts, newest first, and the cursor of the next page ("" at the end).
func (s *Service) List(ctx context.Context, f Filter) ([]payout.StatementData, string, error) {
	if f.Status != "" && !slices.Contains(payout.PayoutStatuses, f.Status) {
		return nil, "", &apperr.FieldError{Field: "status", Message: fmt.Sprintf("%q is not one of %s", f.Status, strings.Join(payout.PayoutStatuses, ", "))}
	}
	q := store.PayoutFilter{Status: f.Status, AffiliateID: f.AffiliateID, Period: f.Period, Limit: f.Limit + 1}
	if f.Cursor != "" {
		var err error
		if q.AfterCreatedAt, q.AfterID, err = decodeCursor(f.Cursor); err != nil {
			return nil, "", &apperr.FieldError{Field: "cursor", Message: "is not a cursor this API returned"}
		}
	}
	rows, err := store.Payouts(s.Store.DB.WithContext(ctx), q)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(last.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + last.ID))
	}
	out := make([]payout.StatementData, len(rows))
	for i, p := range rows {
		out[i] = eventplan.PayoutDocument(p, nil)
	}
	return out, next, nil
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", err
	}
	at, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return time.Time{}, "", errors.New("no id")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	return t, id, err
}

// ExportRow is one payout to make in a mass-payout file.
type ExportRow struct {
	Payout         payout.StatementData
	AffiliateName  string
	AffiliateEmail string
}

// Export lists the payouts of a period that await payment, with the payee's name and email, for the finance
// team's mass-payout file.
func (s *Service) Export(ctx context.Context, periodKey string) ([]ExportRow, error) {
	if _, err := s.Cycle.ParsePeriod(periodKey); err != nil {
		return nil, &apperr.FieldError{Field: "period", Message: err.Error()}
	}
	rows, err := payoutops.ToPay(s.Store.WithContext(ctx), periodKey)
	if err != nil {
		return nil, err
	}
	out := make([]ExportRow, len(rows))
	for i, r := range rows {
		out[i] = ExportRow{Payout: eventplan.PayoutDocument(r.Payout, nil), AffiliateName: r.Name, AffiliateEmail: r.Email}
	}
	return out, nil
}

// Balance is an affiliate's ledger in one currency, by status.
type Balance struct {
	Currency                                                        string
	TotalMinor, PendingMinor, ApprovedMinor, OnHoldMinor, PaidMinor int64
}

// approveDue checks the affiliate exists and approves its entries whose hold has passed, so what is read
// next shows them approved without waiting for the cycle, which would approve them the same way.
func (s *Service) approveDue(ctx context.Context, affiliateID string) error {
	return s.Store.Transaction(ctx, func(tx *store.Store) error {
		if err := store.AffiliateExists(tx.DB, affiliateID); err != nil {
			return err
		}
		_, err := payoutops.ApproveDue(tx, affiliateID, s.now())
		return err
	})
}

// Balances sums an affiliate's ledger per currency and status.
func (s *Service) Balances(ctx context.Context, affiliateID string) ([]Balance, error) {
	if err := s.approveDue(ctx, affiliateID); err != nil {
		return nil, err
	}
	rows, err := store.BalancesByStatus(s.Store.DB.WithContext(ctx), affiliateID)
	if err != nil {
		return nil, err
	}
	var out []Balance
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].Currency != r.Currency {
			out = append(out, Balance{Currency: r.Currency})
		}
		b := &out[len(out)-1]
		b.TotalMinor += r.AmountMinor
		switch r.Status {
		case payout.EntryPending:
			b.PendingMinor += r.AmountMinor
		case payout.EntryApproved:
			b.ApprovedMinor += r.AmountMinor
		case payout.EntryOnHold:
			b.OnHoldMinor += r.AmountMinor
		case payout.EntryPaid:
			b.PaidMinor += r.AmountMinor
		}
	}
	return out, nil
}

// Entries lists an affiliate's ledger entries, optionally of one status.
func (s *Service) Entries(ctx context.Context, affiliateID, status string) ([]store.LedgerEntry, error) {
	if status != "" && !slices.Contains(payout.EntryStatuses, status) {
		return nil, &apperr.FieldError{Field: "status", Message: fmt.Sprintf("%q is not one of %s", status, strings.Join(payout.EntryStatuses, ", "))}
	}
	if err := s.approveDue(ctx, affiliateID); err != nil {
		return nil, err
	}
	return store.LedgerEntries(s.Store.DB.WithContext(ctx), affiliateID, status)
}

// EntryTransitions lists an entry's status changes.
func (s *Service) EntryTransitions(ctx context.Context, entryID string) ([]store.EntryTransition, error) {
	db := s.Store.DB.WithContext(ctx)
	if err := store.LedgerEntryExists(db, entryID); err != nil {
		return nil, err
	}
	return store.EntryTransitions(db, entryID)
}

// SetHold puts a ledger entry on hold (hold true) or releases it, with the reason, which is required.
func (s *Service) SetHold(ctx context.Context, entryID string, hold bool, reason string) (store.LedgerEntry, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 512 {
		return store.LedgerEntry{}, &apperr.FieldError{Field: "reason", Message: "is required, at most 512 bytes: why the entry is held or released"}
	}
	var e store.LedgerEntry
	err := s.Store.Transaction(ctx, func(tx *store.Store) error {
		var err error
		e, err = payoutops.SetHold(tx, entryID, hold, reason, s.now())
		return err
	})
	return e, err
}

// SetMinimum sets an affiliate's minimum payout in a currency, overriding the program's.
func (s *Service) SetMinimum(ctx context.Context, affiliateID, currency, amount string) (store.AffiliatePayoutMinimum, error) {
	m := store.AffiliatePayoutMinimum{AffiliateID: affiliateID, Currency: currency}
	if !money.ValidCurrency(currency) {
		return m, &apperr.FieldError{Field: "currency", Message: fmt.Sprintf("%q is not an ISO 4217 currency code", currency)}
	}
	v, err := money.Parse(amount, currency)
	if err != nil || v < 0 {
		return m, &apperr.FieldError{Field: "amount", Message: fmt.Sprintf("%q is not a non-negative amount in %s", amount, currency)}
	}
	m.AmountMinor = v
	db := s.Store.DB.WithContext(ctx)
	if err := store.AffiliateExists(db, affiliateID); err != nil {
		return m, err
	}
	return m, store.SetPayoutMinimum(db, m)
}

// CreateKey makes an API key granted only the payouts scope and returns it in clear, this once.
func (s *Service) CreateKey(ctx context.Context, label string) (store.PayoutKey, string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return store.PayoutKey{}, "", err
	}
	key := "pk_" + base64.RawURLEncoding.EncodeToString(b)
	k := store.PayoutKey{ID: store.NewID("pkey"), Label: label, Hash: integrations.HashKey(key), Prefix: key[:8], CreatedAt: s.now()}
	return k, key, store.CreatePayoutKey(s.Store.DB.WithContext(ctx), k)
}

// RevokeKey revokes a payouts key.
func (s *Service) RevokeKey(ctx context.Context, id string) error {
	return store.RevokePayoutKey(s.Store.DB.WithContext(ctx), id, s.now())
}

// Authenticate checks a payouts key and returns its id.
func (s *Service) Authenticate(ctx context.Context, key string) (string, error) {
	if key == "" {
		return "", apperr.ErrUnauthorized
	}
	hash := integrations.HashKey(key)
	k, err := store.PayoutKeyByHash(s.Store.DB.WithContext(ctx), hash)
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1) {
		return "", apperr.ErrUnauthorized
	}
	return k.ID, err
}
