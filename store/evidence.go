package store

import "time"

// The queries an evidence bundle reads: what concerns one conversion.

// Adjusting lists the entries that adjust the entries with the given source keys (a later chargeback's
// clawback, a parent's share), by creation.
func (q LedgerQueries) Adjusting(sourceKeys []string) ([]LedgerEntry, error) {
	var rows []LedgerEntry
	if len(sourceKeys) == 0 {
		return rows, nil
	}
	err := q.db.Where("original_key IN ?", sourceKeys).Order("created_at, id").Find(&rows).Error
	return rows, err
}

// PlansByID loads the plan versions with the given ids, by id.
func (q LedgerQueries) PlansByID(ids []string) ([]Plan, error) {
	var rows []Plan
	if len(ids) == 0 {
		return rows, nil
	}
	err := q.db.Where("id IN ?", ids).Order("id").Find(&rows).Error
	return rows, err
}

// TransitionsOf lists the status changes of the given entries, oldest first.
func (q LedgerQueries) TransitionsOf(entryIDs []string) ([]EntryTransition, error) {
	var rows []EntryTransition
	if len(entryIDs) == 0 {
		return rows, nil
	}
	err := q.db.Where("ledger_entry_id IN ?", entryIDs).Order("id").Find(&rows).Error
	return rows, err
}

// Concerning lists the audit rows of the given request ids, and of calls since since to the given paths
// (exact, as logged), by time and id.
func (q AuditQueries) Concerning(requestIDs, paths []string, since time.Time) ([]AuditRecord, error) {
	var rows []AuditRecord
	db := q.db.Where("1 = 0")
	if len(requestIDs) > 0 {
		db = db.Or("request_id IN ?", requestIDs)
	}
	if len(paths) > 0 {
		db = db.Or("(path IN ? AND time >= ?)", paths, since.UTC()) // stored in UTC; SQLite compares times as text
	}
	err := db.Order("time, id").Find(&rows).Error
	return rows, err
}
