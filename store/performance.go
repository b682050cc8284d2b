package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// PerformanceRange is what a performance report reads: one affiliate's (or, with AffiliateID empty, every
// affiliate's) clicks, approved conversions and ledger entries of [From, To), grouped by Dimension: "day"
// (UTC), "affiliate", "player" or "sub1".."sub5".
type PerformanceRange struct {
	AffiliateID string
	Dimension   string
	From, To    time.Time
}

// PerformanceClicks counts the clicks of one key and UTC day; Unique counts distinct visitors, and every
// click recorded without a visitor as its own.
type PerformanceClicks struct {
	Key, Day       string
	Clicks, Unique int64
}

// PerformanceEvents sums the approved conversions of one key, event type and currency.
type PerformanceEvents struct {
	Key, Event, Currency string
	Count, AmountMinor   int64
}

// PerformanceCommissions sums the ledger entries of one key, kind and currency.
type PerformanceCommissions struct {
	Key, Kind, Currency  string
	Entries, AmountMinor int64
}

// PerformanceEventTypes are the conversion events the funnel counts; negative events show in the commission.
var PerformanceEventTypes = []string{"registration", "ftd", "deposit", "revenue", "ftd_adjustment"}

// utcDay is the SQL of the UTC day (YYYY-MM-DD) of a time column. SQLite keeps times as text with their
// offset, which strftime turns into UTC.
func utcDay(db *gorm.DB, column string) string {
	if db.Dialector.Name() == "postgres" {
		return fmt.Sprintf("to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD')", column)
	}
	return fmt.Sprintf("strftime('%%Y-%%m-%%d', %s)", column)
}

// noKey is the key of rows the dimension does not apply to (clicks have no player).
const noKey = "''"

// dimension is the SQL of the grouping key on table (its alias), or false for an unknown dimension. Clicks
// have no player: under "player" they all fall under the empty key. Ledger entries take their subs from
// the conversion that earned them (alias c).
func dimension(db *gorm.DB, dim, table, timeColumn string) (string, bool) {
	switch dim {
	case "day":
		return utcDay(db, table+"."+timeColumn), true
	case "affiliate":
		return table + ".affiliate_id", true
	case "player":
		if table == "clicks" {
			return noKey, true
		}
		return table + ".player_id", true
	case "sub1", "sub2", "sub3", "sub4", "sub5":
		if table == "l" {
			return "COALESCE(c." + dim + ", '')", true
		}
		return table + "." + dim, true
	}
	return "", false
}

// Performance reads the sums of a performance report in one read-only transaction, so the three sources
// are of one moment: the commission is the ledger's at the instant the clicks and events were counted.
func (s *Store) Performance(ctx context.Context, r PerformanceRange) (clicks []PerformanceClicks, events []PerformanceEvents, entries []PerformanceCommissions, err error) {
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if tx.Dialector.Name() == "postgres" {
			if err := tx.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").Error; err != nil {
				return err
			}
		}
		scope := func(q *gorm.DB, table string) *gorm.DB {
			if r.AffiliateID != "" {
				q = q.Where(table+".affiliate_id = ?", r.AffiliateID)
			}
			return q
		}
		key, ok := dimension(tx, r.Dimension, "clicks", "created_at")
		if !ok {
			return fmt.Errorf("unknown performance dimension %q", r.Dimension)
		}
		day := utcDay(tx, "clicks.created_at")
		group := key + ", " + day
		if key == noKey {
			group = day // PostgreSQL refuses a constant in GROUP BY
		}
		err := scope(tx.Table("clicks"), "clicks").
			Select(key+` AS "key", `+day+` AS "day", COUNT(*) AS clicks, `+
				`COUNT(DISTINCT CASE WHEN clicks.visitor <> '' THEN clicks.visitor END) + SUM(CASE WHEN clicks.visitor = '' THEN 1 ELSE 0 END) AS "unique"`).
			Where("clicks.created_at >= ? AND clicks.created_at < ?", r.From, r.To).
			Group(group).Scan(&clicks).Error
		if err != nil {
			return err
		}
		key, _ = dimension(tx, r.Dimension, "conversions", "occurred_at")
		err = scope(tx.Table("conversions"), "conversions").
			Select(key+` AS "key", conversions.event AS event, COALESCE(conversions.currency, '') AS currency, COUNT(*) AS count, COALESCE(SUM(conversions.amount_minor), 0) AS amount_minor`).
			Where("conversions.occurred_at >= ? AND conversions.occurred_at < ? AND conversions.status = ? AND conversions.event IN ?",
				r.From, r.To, "approved", PerformanceEventTypes).
			Group(key + ", conversions.event, conversions.currency").Scan(&events).Error
		if err != nil {
			return err
		}
		key, _ = dimension(tx, r.Dimension, "l", "event_at")
		q := tx.Table("ledger_entries AS l")
		if r.Dimension != "day" && r.Dimension != "affiliate" && r.Dimension != "player" {
			q = q.Joins("LEFT JOIN conversions AS c ON c.id = l.conversion_id")
		}
		return scope(q, "l").
			Select(key+` AS "key", l.kind AS kind, l.currency AS currency, COUNT(*) AS entries, SUM(l.amount_minor) AS amount_minor`).
			Where("l.event_at >= ? AND l.event_at < ?", r.From, r.To).
			Group(key + ", l.kind, l.currency").Scan(&entries).Error
	})
	return clicks, events, entries, err
}
