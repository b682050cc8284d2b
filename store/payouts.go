package store

import (
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/affrelay/affrelay/apperr"
	"github.com/affrelay/affrelay/payout"
)

// EntryTransition records one status change of a ledger entry: who or what moved it, and why.
type EntryTransition struct {
	ID            uint   `gorm:"primaryKey"`
	LedgerEntryID string `gorm:"size:40;not null;index"`
	From          string `gorm:"size:16;not null"`
	To            string `gorm:"size:16;not null"`
	Reason        string `gorm:"size:512"`
	// Actor is "admin", "hold" (the plan's hold passed) or "payout" (a confirmation).
	Actor    string `gorm:"size:32;not null"`
	PayoutID string `gorm:"size:40"`
	At       time.Time
}

// Payout is one statement of an affiliate for a period and currency, and what became of it. The key
// (affiliate, period, currency) is unique: a schedule that fires twice, a workflow reset or a replay finds
// the statement made before instead of making another.
type Payout struct {
	ID          string    `gorm:"primaryKey;size:40"`
	AffiliateID string    `gorm:"size:40;not null;uniqueIndex:idx_payout_key"`
	Period      string    `gorm:"size:32;not null;uniqueIndex:idx_payout_key;index"`
	Currency    string    `gorm:"size:3;not null;uniqueIndex:idx_payout_key"`
	Cycle       string    `gorm:"size:16;not null"`
	PeriodStart time.Time `gorm:"not null"`
	PeriodEnd   time.Time `gorm:"not null"`
	Status      string    `gorm:"size:24;not null;index"`
	Reason      string    `gorm:"size:512"`
	WorkflowID  string    `gorm:"size:300;not null"`
	// Totals of the lines, by kind, and the net.
	CPAMinor          int64 `gorm:"not null"`
	RevShareMinor     int64 `gorm:"not null"`
	SubAffiliateMinor int64 `gorm:"not null"`
	AdjustmentsMinor  int64 `gorm:"not null"`
	NetMinor          int64 `gorm:"not null"`
	Lines             int   `gorm:"not null"`
	// ExternalRef is the operator's payment reference from the confirmation; one reference is one payout.
	ExternalRef *string `gorm:"size:128;uniqueIndex"`
	PaidAt      *time.Time
	ConfirmedAt *time.Time
	RemindedAt  *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// PayoutLine is one ledger entry on a statement. LockedEntryID is the entry's id while the statement holds
// it (awaiting confirmation or paid) and NULL once released (rolled over, failed): its unique index is the
// database's guarantee that an entry is on at most one live statement.
type PayoutLine struct {
	ID            uint      `gorm:"primaryKey"`
	PayoutID      string    `gorm:"size:40;not null;index"`
	LedgerEntryID string    `gorm:"size:40;not null;index"`
	LockedEntryID *string   `gorm:"size:40;uniqueIndex"`
	Kind          string    `gorm:"size:32;not null"`
	EventID       string    `gorm:"size:128"`
	PlayerID      string    `gorm:"size:128"`
	EventAt       time.Time `gorm:"not null"`
	AmountMinor   int64     `gorm:"not null"`
}

// AffiliatePayoutMinimum overrides the program's minimum payout in one currency for one affiliate.
type AffiliatePayoutMinimum struct {
	AffiliateID string `gorm:"primaryKey;size:40"`
	Currency    string `gorm:"primaryKey;size:3"`
	AmountMinor int64  `gorm:"not null"`
}

// PayoutKey is an API key granted only the payouts scope: a finance system reads statements and confirms
// payouts with it, and can do nothing else. Only its SHA-256 is stored.
type PayoutKey struct {
	ID        string `gorm:"primaryKey;size:40"`
	Label     string `gorm:"size:128"`
	Hash      string `gorm:"size:64;not null;uniqueIndex"`
	Prefix    string `gorm:"size:16"`
	RevokedAt *time.Time
	CreatedAt time.Time
}

// ApproveDueEntries moves every pending entry (of the affiliate; of all when affiliateID is "") whose plan's
// hold has passed at asOf to approved, recording each move, and returns how many it moved. Entries without a
// plan have no hold.
func ApproveDueEntries(tx *gorm.DB, affiliateID string, asOf time.Time) (int, error) {
	type due struct {
		ID       string
		EventAt  time.Time
		HoldDays int
	}
	var rows []due
	q := tx.Table("ledger_entries AS e").Select("e.id, e.event_at, COALESCE(p.hold_days, 0) AS hold_days").
		Joins("LEFT JOIN plans AS p ON p.id = e.plan_id").Where("e.status = ? AND e.event_at <= ?", payout.EntryPending, asOf)
	if affiliateID != "" {
		q = q.Where("e.affiliate_id = ?", affiliateID)
	}
	if err := q.Order("e.id").Scan(&rows).Error; err != nil {
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

// moveEntries moves the entries among ids that are in status from to status to, and records each move.
func moveEntries(tx *gorm.DB, ids []string, from, to, actor, payoutID, reason string, at time.Time) (int, error) {
	if err := payout.CheckEntryMove(from, to); err != nil {
		return 0, err
	}
	var moving []string
	if err := tx.Model(&LedgerEntry{}).Clauses(clause.Locking{Strength: "UPDATE"}).Where("id IN ? AND status = ?", ids, from).
		Order("id").Pluck("id", &moving).Error; err != nil || len(moving) == 0 {
		return 0, err
	}
	if err := tx.Model(&LedgerEntry{}).Where("id IN ? AND status = ?", moving, from).Update("status", to).Error; err != nil {
		return 0, err
	}
	rows := make([]EntryTransition, len(moving))
	for i, id := range moving {
		rows[i] = EntryTransition{LedgerEntryID: id, From: from, To: to, Actor: actor, PayoutID: payoutID, Reason: reason, At: at}
	}
	return len(moving), tx.CreateInBatches(rows, 200).Error
}

// SetEntryHold puts an entry on hold (hold true) or releases it, for the reason given. A released entry is
// approved if its plan's hold has passed at now, else pending. An entry on a statement awaiting confirmation
// or already paid cannot be held.
func SetEntryHold(tx *gorm.DB, entryID string, hold bool, reason string, now time.Time) (LedgerEntry, error) {
	var e LedgerEntry
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", entryID).Take(&e).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return e, apperr.NotFound("ledger entry " + entryID)
		}
		return e, err
	}
	to := payout.EntryOnHold
	if !hold {
		if e.Status != payout.EntryOnHold {
			return e, apperr.Conflict("ledger entry %s is %s, not on_hold", e.ID, e.Status)
		}
		var holdDays int
		if err := tx.Model(&Plan{}).Where("id = ?", e.PlanID).Pluck("hold_days", &holdDays).Error; err != nil {
			return e, err
		}
		to = payout.ReleasedStatus(payout.ApproveAt(e.EventAt, holdDays), now)
	} else {
		var locked PayoutLine
		err := tx.Where("locked_entry_id = ?", e.ID).Take(&locked).Error
		if err == nil && e.Status != payout.EntryPaid {
			return e, apperr.Conflict("ledger entry %s is on payout %s, which awaits confirmation", e.ID, locked.PayoutID)
		}
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return e, err
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

// EntryTransitions lists an entry's status changes, oldest first.
func EntryTransitions(db *gorm.DB, entryID string) ([]EntryTransition, error) {
	var out []EntryTransition
	err := db.Where("ledger_entry_id = ?", entryID).Order("id").Find(&out).Error
	return out, err
}

// LedgerEntries lists an affiliate's entries, optionally of one status, by event time.
func LedgerEntries(db *gorm.DB, affiliateID, status string) ([]LedgerEntry, error) {
	q := db.Where("affiliate_id = ?", affiliateID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var out []LedgerEntry
	err := q.Order("event_at, id").Find(&out).Error
	return out, err
}

// Account is an affiliate's ledger in one currency.
type Account struct {
	AffiliateID string
	Currency    string
}

// unlocked selects the approved entries no live statement holds.
func unlocked(tx *gorm.DB) *gorm.DB {
	return tx.Model(&LedgerEntry{}).Where("status = ? AND NOT EXISTS (SELECT 1 FROM payout_lines l WHERE l.locked_entry_id = ledger_entries.id)", payout.EntryApproved)
}

// PayableAccounts returns, after the account (afterAffiliate, afterCurrency), up to limit accounts with
// approved entries of events before end that no statement holds.
func PayableAccounts(tx *gorm.DB, end time.Time, after Account, limit int) ([]Account, error) {
	var out []Account
	err := unlocked(tx).Select("DISTINCT affiliate_id, currency").
		Where("event_at < ? AND (affiliate_id > ? OR (affiliate_id = ? AND currency > ?))", end, after.AffiliateID, after.AffiliateID, after.Currency).
		Order("affiliate_id, currency").Limit(limit).Scan(&out).Error
	return out, err
}

// PayoutMinimum is the affiliate's minimum payout in the currency: its override, else programDefault.
func PayoutMinimum(tx *gorm.DB, affiliateID, currency string, programDefault int64) (int64, error) {
	var m AffiliatePayoutMinimum
	err := tx.Where("affiliate_id = ? AND currency = ?", affiliateID, currency).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return programDefault, nil
	}
	return m.AmountMinor, err
}

// SetPayoutMinimum sets (or replaces) an affiliate's minimum payout in a currency.
func SetPayoutMinimum(tx *gorm.DB, m AffiliatePayoutMinimum) error {
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "affiliate_id"}, {Name: "currency"}},
		DoUpdates: clause.AssignmentColumns([]string{"amount_minor"}),
	}).Create(&m).Error
}

// PayoutMinimums lists an affiliate's overrides by currency.
func PayoutMinimums(db *gorm.DB, affiliateID string) ([]AffiliatePayoutMinimum, error) {
	var out []AffiliatePayoutMinimum
	err := db.Where("affiliate_id = ?", affiliateID).Order("currency").Find(&out).Error
	return out, err
}

// NewStatement is the account and period a statement is made for.
type NewStatement struct {
	Account
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
func CreateStatement(tx *gorm.DB, in NewStatement, now time.Time) (Payout, bool, error) {
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", in.AffiliateID).Take(&Affiliate{}).Error; err != nil {
		return Payout{}, false, err
	}
	var p Payout
	err := tx.Where("affiliate_id = ? AND period = ? AND currency = ?", in.AffiliateID, in.Period.Key, in.Currency).Take(&p).Error
	if err == nil {
		return p, false, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return p, false, err
	}
	// Locked (PostgreSQL), so an admin's hold of one of them waits for this statement and then finds it on it.
	var entries []LedgerEntry
	if err := unlocked(tx).Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("affiliate_id = ? AND currency = ? AND event_at < ?", in.AffiliateID, in.Currency, in.Period.End).
		Order("event_at, id").Find(&entries).Error; err != nil {
		return p, false, err
	}
	minimum, err := PayoutMinimum(tx, in.AffiliateID, in.Currency, in.MinimumDefault)
	if err != nil {
		return p, false, err
	}
	lines := make([]payout.Line, len(entries))
	for i, e := range entries {
		lines[i] = payout.Line{EntryID: e.ID, Kind: e.Kind, EventID: e.EventID, PlayerID: e.PlayerID, EventAt: e.EventAt.UTC(), AmountMinor: e.AmountMinor}
	}
	st := payout.Build(lines, in.Currency, minimum)
	p = Payout{
		ID: NewID("pay"), AffiliateID: in.AffiliateID, Period: in.Period.Key, Currency: in.Currency, Cycle: in.Cycle,
		PeriodStart: in.Period.Start, PeriodEnd: in.Period.End, Status: st.Status, Reason: st.Reason, WorkflowID: in.WorkflowID,
		CPAMinor: st.Totals.CPAMinor, RevShareMinor: st.Totals.RevShareMinor, SubAffiliateMinor: st.Totals.SubAffiliateMinor,
		AdjustmentsMinor: st.Totals.AdjustmentsMinor, NetMinor: st.Totals.NetMinor, Lines: len(st.Lines), CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.Create(&p).Error; err != nil {
		return p, false, err
	}
	rows := make([]PayoutLine, len(st.Lines))
	for i, l := range st.Lines {
		rows[i] = PayoutLine{PayoutID: p.ID, LedgerEntryID: l.EntryID, Kind: l.Kind, EventID: l.EventID, PlayerID: l.PlayerID, EventAt: l.EventAt, AmountMinor: l.AmountMinor}
		if st.Status == payout.Awaiting {
			rows[i].LockedEntryID = &rows[i].LedgerEntryID
		}
	}
	if len(rows) > 0 {
		if err := tx.CreateInBatches(rows, 200).Error; err != nil {
			return p, false, err
		}
	}
	return p, true, nil
}

// GetPayout loads a payout; lock takes its row lock for a change.
func GetPayout(tx *gorm.DB, id string, lock bool) (Payout, error) {
	var p Payout
	q := tx
	if lock {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := q.Where("id = ?", id).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p, apperr.NotFound("payout " + id)
	}
	return p, err
}

// PayoutLines lists a payout's lines in statement order.
func PayoutLines(db *gorm.DB, payoutID string) ([]PayoutLine, error) {
	var out []PayoutLine
	err := db.Where("payout_id = ?", payoutID).Order("event_at, ledger_entry_id").Find(&out).Error
	return out, err
}

// ConfirmPayout applies an operator's confirmation to a payout awaiting one: paid makes its entries paid;
// failed releases them, still approved, to the next cycle. The same confirmation again (same outcome and
// external_ref) changes nothing and returns applied false; any other confirmation of a payout that is no
// longer awaiting one is ErrConflict, as is an external_ref another payout already has.
func ConfirmPayout(tx *gorm.DB, id string, c payout.Confirmation, now time.Time) (Payout, bool, error) {
	p, err := GetPayout(tx, id, true)
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
	var other int64
	if err := tx.Model(&Payout{}).Where("external_ref = ? AND id <> ?", c.ExternalRef, p.ID).Count(&other).Error; err != nil {
		return p, false, err
	}
	if other > 0 {
		return p, false, apperr.Conflict("external_ref %q belongs to another payout", c.ExternalRef)
	}
	var entryIDs []string
	if err := tx.Model(&PayoutLine{}).Where("payout_id = ?", p.ID).Order("ledger_entry_id").Pluck("ledger_entry_id", &entryIDs).Error; err != nil {
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
		if err := tx.Model(&PayoutLine{}).Where("payout_id = ?", p.ID).Update("locked_entry_id", nil).Error; err != nil {
			return p, false, err
		}
	}
	return p, true, tx.Model(&Payout{}).Where("id = ?", p.ID).Updates(updates).Error
}

// MovePayout moves a payout awaiting confirmation on to status (needs_review) or, with status equal to its
// own, only stamps reminded_at; moved false when the payout was no longer awaiting confirmation.
func MovePayout(tx *gorm.DB, id, status string, now time.Time) (Payout, bool, error) {
	p, err := GetPayout(tx, id, true)
	if err != nil || !payout.AwaitsConfirmation(p.Status) {
		return p, false, err
	}
	updates := map[string]any{"status": status, "updated_at": now}
	if status == p.Status {
		updates = map[string]any{"reminded_at": now, "updated_at": now}
		p.RemindedAt = &now
	}
	p.Status = status
	return p, true, tx.Model(&Payout{}).Where("id = ?", p.ID).Updates(updates).Error
}

// PayoutFilter narrows a payouts listing; empty fields match everything. The listing is newest first and
// continues after the cursor (the created_at and id of the last payout of the page before).
type PayoutFilter struct {
	Status, AffiliateID, Period string
	AfterCreatedAt              time.Time
	AfterID                     string
	Limit                       int
}

// Payouts lists payouts by the filter.
func Payouts(db *gorm.DB, f PayoutFilter) ([]Payout, error) {
	q := db.Order("created_at DESC, id DESC").Limit(f.Limit)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.AffiliateID != "" {
		q = q.Where("affiliate_id = ?", f.AffiliateID)
	}
	if f.Period != "" {
		q = q.Where("period = ?", f.Period)
	}
	if f.AfterID != "" {
		q = q.Where("created_at < ? OR (created_at = ? AND id < ?)", f.AfterCreatedAt, f.AfterCreatedAt, f.AfterID)
	}
	var out []Payout
	err := q.Find(&out).Error
	return out, err
}

// StatusBalance is the sum of an affiliate's entries in one currency and status.
type StatusBalance struct {
	Currency    string
	Status      string
	AmountMinor int64
	Entries     int64
}

// BalancesByStatus sums an affiliate's ledger per currency and status.
func BalancesByStatus(db *gorm.DB, affiliateID string) ([]StatusBalance, error) {
	var out []StatusBalance
	err := db.Model(&LedgerEntry{}).Select("currency, status, SUM(amount_minor) AS amount_minor, COUNT(*) AS entries").
		Where("affiliate_id = ?", affiliateID).Group("currency, status").Order("currency, status").Scan(&out).Error
	return out, err
}

// CreatePayoutKey stores a payouts-scoped key by its hash.
func CreatePayoutKey(db *gorm.DB, k PayoutKey) error {
	return db.Create(&k).Error
}

// PayoutKeyByHash finds the unrevoked payouts key with the hash.
func PayoutKeyByHash(db *gorm.DB, hash string) (PayoutKey, error) {
	var k PayoutKey
	err := db.Where("hash = ? AND revoked_at IS NULL", hash).Take(&k).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return k, apperr.NotFound("payouts key")
	}
	return k, err
}

// RevokePayoutKey revokes a payouts key.
func RevokePayoutKey(db *gorm.DB, id string, now time.Time) error {
	res := db.Model(&PayoutKey{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", now)
	if res.Error == nil && res.RowsAffected == 0 {
		return apperr.NotFound("payouts key " + id)
	}
	return res.Error
}

// PayoutToPay is a payout awaiting payment with its payee.
type PayoutToPay struct {
	Payout
	Name, Email string
}

// PayoutsToPay lists a period's payouts that await payment (awaiting confirmation or in review), by
// affiliate and currency, with the affiliate's name and email.
func PayoutsToPay(db *gorm.DB, period string) ([]PayoutToPay, error) {
	var out []PayoutToPay
	err := db.Table("payouts").Select("payouts.*, affiliates.name AS name, affiliates.email AS email").
		Joins("JOIN affiliates ON affiliates.id = payouts.affiliate_id").
		Where("payouts.period = ? AND payouts.status IN ?", period, []string{payout.Awaiting, payout.NeedsReview}).
		Order("payouts.affiliate_id, payouts.currency").Scan(&out).Error
	return out, err
}

// AffiliateExists is nil when the affiliate exists, else ErrNotFound.
func AffiliateExists(db *gorm.DB, id string) error {
	return exists(db, &Affiliate{}, "affiliate", id)
}

// LedgerEntryExists is nil when the ledger entry exists, else ErrNotFound.
func LedgerEntryExists(db *gorm.DB, id string) error {
	return exists(db, &LedgerEntry{}, "ledger entry", id)
}

func exists(db *gorm.DB, model any, what, id string) error {
	var n int64
	if err := db.Model(model).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return apperr.NotFound(what + " " + id)
	}
	return nil
}
