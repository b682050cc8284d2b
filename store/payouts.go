package store

import (
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/affrelay/affrelay/apperr"
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

// EntryDue is a ledger entry with its plan's hold, to decide when it is approved.
type EntryDue struct {
	ID       string
	EventAt  time.Time
	HoldDays int
}

// EntriesWithHold lists the entries in status (of the affiliate; of all when affiliateID is "") with events
// at or before asOf, with their plan's hold in days (0 without a plan), by id.
func EntriesWithHold(tx *gorm.DB, status, affiliateID string, asOf time.Time) ([]EntryDue, error) {
	var rows []EntryDue
	q := tx.Table("ledger_entries AS e").Select("e.id, e.event_at, COALESCE(p.hold_days, 0) AS hold_days").
		Joins("LEFT JOIN plans AS p ON p.id = e.plan_id").Where("e.status = ? AND e.event_at <= ?", status, asOf)
	if affiliateID != "" {
		q = q.Where("e.affiliate_id = ?", affiliateID)
	}
	return rows, q.Order("e.id").Scan(&rows).Error
}

// MoveEntries moves the entries among ids that are in status from to status to, locking them first, and
// records each move; it returns how many it moved. The caller checks that the move is allowed.
func MoveEntries(tx *gorm.DB, ids []string, from, to, actor, payoutID, reason string, at time.Time) (int, error) {
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

// LockEntry loads a ledger entry and locks its row until the transaction ends; a missing one is
// apperr.ErrNotFound.
func LockEntry(tx *gorm.DB, entryID string) (LedgerEntry, error) {
	var e LedgerEntry
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", entryID).Take(&e).Error
	return e, NotFound(err, "ledger entry "+entryID)
}

// PlanHoldDays returns a plan's hold in days (0 for an entry without a plan).
func PlanHoldDays(tx *gorm.DB, planID string) (int, error) {
	var holdDays int
	return holdDays, tx.Model(&Plan{}).Where("id = ?", planID).Pluck("hold_days", &holdDays).Error
}

// LockedLine loads the statement line that holds the entry; found false when no live statement holds it.
func LockedLine(tx *gorm.DB, entryID string) (PayoutLine, bool, error) {
	var l PayoutLine
	ok, err := found(tx.Where("locked_entry_id = ?", entryID).Take(&l).Error)
	return l, ok, err
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

// unlocked selects the entries in status that no live statement holds.
func unlocked(tx *gorm.DB, status string) *gorm.DB {
	return tx.Model(&LedgerEntry{}).Where("status = ? AND NOT EXISTS (SELECT 1 FROM payout_lines l WHERE l.locked_entry_id = ledger_entries.id)", status)
}

// PayableAccounts returns, after the account (afterAffiliate, afterCurrency), up to limit accounts with
// entries in status (approved) of events before end that no statement holds.
func PayableAccounts(tx *gorm.DB, status string, end time.Time, after Account, limit int) ([]Account, error) {
	var out []Account
	err := unlocked(tx, status).Select("DISTINCT affiliate_id, currency").
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

// Statement loads the account's statement of the period; found false when there is none.
func Statement(tx *gorm.DB, a Account, period string) (Payout, bool, error) {
	var p Payout
	ok, err := found(tx.Where("affiliate_id = ? AND period = ? AND currency = ?", a.AffiliateID, period, a.Currency).Take(&p).Error)
	return p, ok, err
}

// LockUnlockedEntries lists, and locks until the transaction ends (PostgreSQL), the account's entries in
// status (approved) of events before end that no statement holds, by event time and id.
func LockUnlockedEntries(tx *gorm.DB, status string, a Account, end time.Time) ([]LedgerEntry, error) {
	var entries []LedgerEntry
	err := unlocked(tx, status).Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("affiliate_id = ? AND currency = ? AND event_at < ?", a.AffiliateID, a.Currency, end).
		Order("event_at, id").Find(&entries).Error
	return entries, err
}

// InsertStatement stores a payout and its lines.
func InsertStatement(tx *gorm.DB, p *Payout, lines []PayoutLine) error {
	if err := tx.Create(p).Error; err != nil {
		return err
	}
	if len(lines) == 0 {
		return nil
	}
	return tx.CreateInBatches(lines, 200).Error
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

// ExternalRefTaken says whether a payout other than payoutID has the external reference.
func ExternalRefTaken(tx *gorm.DB, ref, payoutID string) (bool, error) {
	var other int64
	err := tx.Model(&Payout{}).Where("external_ref = ? AND id <> ?", ref, payoutID).Count(&other).Error
	return other > 0, err
}

// PayoutEntryIDs lists the ledger entries on a payout's lines, by id.
func PayoutEntryIDs(tx *gorm.DB, payoutID string) ([]string, error) {
	var ids []string
	return ids, tx.Model(&PayoutLine{}).Where("payout_id = ?", payoutID).Order("ledger_entry_id").Pluck("ledger_entry_id", &ids).Error
}

// ReleaseLines lets a payout's entries go: no live statement holds them any more.
func ReleaseLines(tx *gorm.DB, payoutID string) error {
	return tx.Model(&PayoutLine{}).Where("payout_id = ?", payoutID).Update("locked_entry_id", nil).Error
}

// UpdatePayout writes the given columns of a payout.
func UpdatePayout(tx *gorm.DB, id string, updates map[string]any) error {
	return tx.Model(&Payout{}).Where("id = ?", id).Updates(updates).Error
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

// PayoutsToPay lists a period's payouts in one of statuses (those that await payment), by affiliate and
// currency, with the affiliate's name and email.
func PayoutsToPay(db *gorm.DB, period string, statuses []string) ([]PayoutToPay, error) {
	var out []PayoutToPay
	err := db.Table("payouts").Select("payouts.*, affiliates.name AS name, affiliates.email AS email").
		Joins("JOIN affiliates ON affiliates.id = payouts.affiliate_id").
		Where("payouts.period = ? AND payouts.status IN ?", period, statuses).
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

// LockAffiliate locks an affiliate's row until the transaction ends; a missing affiliate is gorm's
// ErrRecordNotFound.
func LockAffiliate(tx *gorm.DB, id string) error {
	return tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&Affiliate{}).Error
}
