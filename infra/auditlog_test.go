package infra

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

// An answered request is in the log: Record returns once its row is written, not when a later flush would
// write it (a process killed -9 right after answering lost the rows still waiting; the chaos run found one).
// Concurrent rows still share INSERTs.
func TestAuditLogRowWrittenWhenRecordReturns(t *testing.T) {
	s := openTestStore(t)
	a := NewAuditLog(s, slog.New(slog.NewTextHandler(io.Discard, nil)), 4096)
	defer a.Close()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			id := store.NewID("req")
			a.Record(store.AuditRecord{Time: time.Now().UTC(), RequestID: id, Method: "GET", Path: "/v1/postbacks", Status: 200})
			var n int64
			assert.NoError(t, s.DB.Model(&store.AuditRecord{}).Where("request_id = ?", id).Count(&n).Error)
			assert.EqualValues(t, 1, n, "row %s not written when Record returned", id)
		})
	}
	wg.Wait()
}

// BenchmarkAuditLogRecord is what the audit log adds to a request: its row written, in an INSERT shared with
// the rows of concurrent requests. On PostgreSQL (AFFRELAY_TEST_POSTGRES_DSN) too, in a schema of its own.
func BenchmarkAuditLogRecord(b *testing.B) {
	dbs := map[string]func(testing.TB) *store.Store{"sqlite": openTestStore}
	if dsn := os.Getenv("AFFRELAY_TEST_POSTGRES_DSN"); dsn != "" {
		dbs["postgres"] = func(tb testing.TB) *store.Store { return openPostgresStore(tb, dsn) }
	}
	for name, open := range dbs {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			a := NewAuditLog(s, slog.New(slog.NewTextHandler(io.Discard, nil)), 4096)
			row := store.AuditRecord{Time: time.Now(), RequestID: "req_bench", Method: "GET", Path: "/v1/postbacks", Status: 200}
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					a.Record(row)
				}
			})
			a.Close()
		})
	}
}

// openPostgresStore opens a migrated PostgreSQL store in a new schema, dropped at the end.
func openPostgresStore(tb testing.TB, dsn string) *store.Store {
	admin, err := store.Open("postgres", dsn)
	require.NoError(tb, err)
	schema := "bench_" + strings.TrimPrefix(store.NewID("s"), "s_")
	require.NoError(tb, admin.DB.Exec("CREATE SCHEMA "+schema).Error)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s, err := store.Open("postgres", dsn+sep+"search_path="+schema)
	require.NoError(tb, err)
	require.NoError(tb, s.Migrate(context.Background()))
	tb.Cleanup(func() {
		s.Close()
		admin.DB.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	return s
}
