package audit

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/store"
)

// TestRequestsFilterAndPrune reads the audit log by status and time, and prunes it by age.
func TestRequestsFilterAndPrune(t *testing.T) {
	s, err := store.Open("sqlite", filepath.Join(t.TempDir(), "audit.db"))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	t.Cleanup(func() { s.Close() })
	recent := make([]store.AuditRecord, 501)
	for i := range recent {
		recent[i] = store.AuditRecord{Time: time.Now().UTC(), RequestID: store.NewID("req"), Method: "GET", Path: "/v1/postbacks", Status: 200}
	}
	require.NoError(t, s.DB.Create(&recent).Error)
	svc := &Service{Store: s}
	old := store.AuditRecord{Time: time.Now().Add(-48 * time.Hour).UTC(), RequestID: "req_old", Method: "GET", Path: "/x", Status: 401}
	require.NoError(t, s.DB.Create(&old).Error)
	rows, err := svc.Requests(context.Background(), RequestFilter{Status: 401, Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	// Filters given in another zone compare right: SQLite compares stored times as text.
	east := time.FixedZone("UTC+5", 5*3600)
	rows, err = svc.Requests(context.Background(), RequestFilter{Since: time.Now().Add(-time.Hour).In(east), Limit: 1000})
	require.NoError(t, err)
	require.Len(t, rows, 501)
	pruned, err := svc.PruneRequests(context.Background(), time.Now().Add(-24*time.Hour).In(east))
	require.NoError(t, err)
	require.EqualValues(t, 1, pruned)
}
