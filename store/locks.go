package store

import "gorm.io/gorm"

// LockKeys takes a PostgreSQL advisory lock on each key, in the order given, held until the transaction ends.
// It serialises exactly the transactions that touch the same state, without locking rows that other work
// needs. SQLite has a single writer, so there is nothing to lock there.
func LockKeys(tx *gorm.DB, keys ...string) error {
	if tx.Name() != "postgres" {
		return nil
	}
	for _, k := range keys {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", k).Error; err != nil {
			return err
		}
	}
	return nil
}
