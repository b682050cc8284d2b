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
type RequestFilter = store.AuditFilter

// Requests reads the audit log, newest first.
func (s *Service) Requests(ctx context.Context, f RequestFilter) ([]store.AuditRecord, error) {
	return s.Store.Audit(ctx).ListByFilter(f)
}

// PruneRequests deletes audit rows older than before and returns how many went.
func (s *Service) PruneRequests(ctx context.Context, before time.Time) (int64, error) {
	return s.Store.Audit(ctx).PruneBefore(before)
}
