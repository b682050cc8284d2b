// Package audit is the application service that reads and prunes the log of API calls.
package audit

import (
	"context"
	"time"

	"github.com/affrelay/affrelay/store"
)

// Service reads the audit log.
type Service struct {
	Store *store.Store
}

// RequestFilter narrows the audit log; empty fields match everything.
type RequestFilter struct {
	IntegrationID string
	Status        int
	Since         time.Time
	Limit         int
}

// Requests reads the audit log, newest first.
func (s *Service) Requests(ctx context.Context, f RequestFilter) ([]store.AuditRecord, error) {
	q := s.Store.DB.WithContext(ctx).Order("time DESC, id DESC").Limit(f.Limit)
	if f.IntegrationID != "" {
		q = q.Where("integration_id = ?", f.IntegrationID)
	}
	if f.Status != 0 {
		q = q.Where("status = ?", f.Status)
	}
	if !f.Since.IsZero() {
		q = q.Where("time >= ?", f.Since.UTC()) // stored in UTC; SQLite compares times as text
	}
	var out []store.AuditRecord
	return out, q.Find(&out).Error
}

// PruneRequests deletes audit rows older than before and returns how many went.
func (s *Service) PruneRequests(ctx context.Context, before time.Time) (int64, error) {
	res := s.Store.DB.WithContext(ctx).Where("time < ?", before.UTC()).Delete(&store.AuditRecord{})
	return res.RowsAffected, res.Error
}
