package store

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// AuditQueries are the typed queries on the audit log, bound to one context.
type AuditQueries struct{ db *gorm.DB }

// Audit returns the audit-log queries for ctx.
func (s *Store) Audit(ctx context.Context) AuditQueries {
	return AuditQueries{db: s.DB.WithContext(ctx)}
}

// AuditFilter narrows the audit log; empty fields match everything.
type AuditFilter struct {
	IntegrationID string
	Status        int
	Since         time.Time
	Limit         int
}

// Insert writes rows in one statement.
func (q AuditQueries) Insert(rows []AuditRecord) error { return q.db.Create(&rows).Error }

// ListByFilter reads the audit log, newest first.
func (q AuditQueries) ListByFilter(f AuditFilter) ([]AuditRecord, error) {
	db := q.db.Order("time DESC, id DESC").Limit(f.Limit)
	if f.IntegrationID != "" {
		db = db.Where("integration_id = ?", f.IntegrationID)
	}
	if f.Status != 0 {
		db = db.Where("status = ?", f.Status)
	}
	if !f.Since.IsZero() {
		db = db.Where("time >= ?", f.Since.UTC()) // stored in UTC; SQLite compares times as text
	}
	var out []AuditRecord
	return out, db.Find(&out).Error
}

// PruneBefore deletes rows older than before and returns how many went.
func (q AuditQueries) PruneBefore(before time.Time) (int64, error) {
	res := q.db.Where("time < ?", before.UTC()).Delete(&AuditRecord{})
	return res.RowsAffected, res.Error
}

// RequestIDs lists the request ids of the logged calls answered with status.
func (q AuditQueries) RequestIDs(status int) ([]string, error) {
	var ids []string
	return ids, q.db.Model(&AuditRecord{}).Where("status = ?", status).Pluck("request_id", &ids).Error
}
