package infra

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/store"
)

func openTestStore(t testing.TB) *store.Store {
	s, err := store.Open("sqlite", filepath.Join(t.TempDir(), "audit.db"))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	t.Cleanup(func() { s.Close() })
	return s
}

// TestAuditLogKeepsEveryRow overflows a tiny buffer: rows that find it full are written by their caller.
func TestAuditLogKeepsEveryRow(t *testing.T) {
	s := openTestStore(t)
	a := NewAuditLog(s, slog.New(slog.NewTextHandler(io.Discard, nil)), 2)
	for i := 0; i < 500; i++ {
		a.Record(store.AuditRecord{Time: time.Now().UTC(), RequestID: store.NewID("req"), Method: "GET", Path: "/v1/postbacks", Status: 200})
	}
	a.Close()
	a.Record(store.AuditRecord{Time: time.Now().UTC(), RequestID: "req_after_close", Method: "GET", Path: "/x", Status: 200})
	var n int64
	require.NoError(t, s.DB.Model(&store.AuditRecord{}).Count(&n).Error)
	require.EqualValues(t, 501, n)
}

// BenchmarkAuditLogRecord is what the audit log adds to a request: queueing one row (the writer batches).
func BenchmarkAuditLogRecord(b *testing.B) {
	s := openTestStore(b)
	a := NewAuditLog(s, slog.New(slog.NewTextHandler(io.Discard, nil)), 4096)
	row := store.AuditRecord{Time: time.Now(), RequestID: "req_bench", Method: "GET", Path: "/v1/postbacks", Status: 200}
	b.ResetTimer()
	for b.Loop() {
		a.Record(row)
	}
	a.Close()
}
