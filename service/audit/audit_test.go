package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/auditchain"
	"github.com/affrelay/affrelay/store"
)

func openStore(t *testing.T) *store.Store {
	s, err := store.Open("sqlite", filepath.Join(t.TempDir(), "audit.db"))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	t.Cleanup(func() { s.Close() })
	return s
}

func insertRows(t *testing.T, s *store.Store, at time.Time, n int) {
	rows := make([]store.AuditRecord, n)
	for i := range rows {
		rows[i] = store.AuditRecord{Time: at.UTC(), RequestID: store.NewID("req"), Method: "GET", Path: "/v1/postbacks", Status: 200}
	}
	require.NoError(t, s.Audit(context.Background()).Insert(rows))
}

// TestRequestsFilterAndPrune reads the audit log by status and time, and prunes it by age.
func TestRequestsFilterAndPrune(t *testing.T) {
	s := openStore(t)
	svc := &Service{Store: s}
	require.NoError(t, s.Audit(context.Background()).Insert([]store.AuditRecord{{Time: time.Now().Add(-48 * time.Hour).UTC(), RequestID: "req_old", Method: "GET", Path: "/x", Status: 401}}))
	insertRows(t, s, time.Now(), 501)
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
	report, err := svc.Verify(context.Background(), VerifyRequest{})
	require.NoError(t, err)
	require.True(t, report.OK, "%+v", report.Break)
	require.EqualValues(t, 501, report.Rows)
	require.Equal(t, int64(1), report.Anchor.Seq, "verified from the pruning checkpoint")
}

// Verify names the first row that does not fit, whatever was done to the stored chain.
func TestVerifyFindsTheFirstBrokenRow(t *testing.T) {
	cases := []struct {
		name   string
		tamper string // SQL run on a chain of 3000 rows (more than a page)
		seq    int64
		reason string
	}{
		{"status edited", "UPDATE audit_records SET status = 500 WHERE seq = 2500", 2500, "changed after it was written"},
		{"hash overwritten", "UPDATE audit_records SET hash = 'x' WHERE seq = 7", 7, "not the hash of its content"},
		{"row deleted", "DELETE FROM audit_records WHERE seq = 2001", 2002, "missing"},
		{"first rows deleted", "DELETE FROM audit_records WHERE seq <= 10", 11, "no pruning checkpoint"},
		{"end cut", "DELETE FROM audit_records WHERE seq > 2990", 3000, "cut from its end"},
		{"checkpoint differs", "UPDATE audit_checkpoints SET hash = 'y'", 1500, "daily checkpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openStore(t)
			svc := &Service{Store: s}
			insertRows(t, s, time.Now(), 1500)
			_, err := s.Audit(context.Background()).Checkpoint(store.AuditCheckpointDaily)
			require.NoError(t, err)
			insertRows(t, s, time.Now(), 1500)
			report, err := svc.Verify(context.Background(), VerifyRequest{})
			require.NoError(t, err)
			require.True(t, report.OK)
			require.NoError(t, s.DB.Exec(c.tamper).Error)
			report, err = svc.Verify(context.Background(), VerifyRequest{})
			require.NoError(t, err)
			require.False(t, report.OK)
			require.NotNil(t, report.Break)
			require.Equal(t, c.seq, report.Break.Seq, report.Break.Reason)
			require.Contains(t, report.Break.Reason, c.reason)
			if c.name != "end cut" {
				require.NotZero(t, report.Break.ID, "the row is named by its id")
			}
		})
	}
}

// A range verifies from the row before it, and a range without rows is fine.
func TestVerifyRange(t *testing.T) {
	s := openStore(t)
	svc := &Service{Store: s}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		insertRows(t, s, day.AddDate(0, 0, i), 10)
	}
	report, err := svc.Verify(context.Background(), VerifyRequest{From: day.AddDate(0, 0, 1), To: day.AddDate(0, 0, 2)})
	require.NoError(t, err)
	require.True(t, report.OK)
	require.Equal(t, fmt.Sprint(11, 20, 10), fmt.Sprint(report.First, report.Last, report.Rows))
	report, err = svc.Verify(context.Background(), VerifyRequest{From: day.AddDate(1, 0, 0)})
	require.NoError(t, err)
	require.True(t, report.OK)
	require.Zero(t, report.Rows)
}

// Someone with database access rewrites the chain from a row onwards, head included: the chain verifies, but
// the row at the position of a checkpoint copy kept elsewhere no longer matches it.
func TestVerifyAgainstACheckpointCopy(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	svc := &Service{Store: s}
	insertRows(t, s, time.Now(), 20)
	copyKept, err := s.Audit(ctx).Head()
	require.NoError(t, err)
	insertRows(t, s, time.Now(), 5)

	report, err := svc.Verify(ctx, VerifyRequest{Checkpoint: &copyKept})
	require.NoError(t, err)
	require.True(t, report.OK)
	require.Equal(t, "matches", report.Checkpoint)

	rows, err := s.Audit(ctx).ChainPage(0, 100, 100)
	require.NoError(t, err)
	chain := store.ChainRows(rows)
	chain[9].Status = 500
	head := auditchain.Seal(auditchain.Anchor{Seq: 9, Hash: chain[8].Hash}, chain[9:])
	for _, r := range chain[9:] {
		require.NoError(t, s.DB.Exec("UPDATE audit_records SET status = ?, prev_hash = ?, hash = ? WHERE seq = ?", r.Status, r.PrevHash, r.Hash, r.Seq).Error)
	}
	require.NoError(t, s.DB.Exec("UPDATE audit_chain_heads SET seq = ?, hash = ?", head.Seq, head.Hash).Error)

	report, err = svc.Verify(ctx, VerifyRequest{})
	require.NoError(t, err)
	require.True(t, report.OK, "a consistent rewrite verifies without the copy")
	report, err = svc.Verify(ctx, VerifyRequest{Checkpoint: &copyKept})
	require.NoError(t, err)
	require.False(t, report.OK)
	require.Equal(t, int64(20), report.Break.Seq)
	require.Contains(t, report.Break.Reason, "checkpoint copy")

	// A copy older than the last pruning has nothing left to compare with.
	_, err = svc.PruneRequests(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	report, err = svc.Verify(ctx, VerifyRequest{Checkpoint: &copyKept})
	require.NoError(t, err)
	require.True(t, report.OK)
	require.Equal(t, "pruned", report.Checkpoint)
	ahead := auditchain.Anchor{Seq: 99, Hash: copyKept.Hash}
	report, err = svc.Verify(ctx, VerifyRequest{Checkpoint: &ahead})
	require.NoError(t, err)
	require.Contains(t, report.Break.Reason, "cut from its end")
}

// BenchmarkVerify recomputes a chain of 20,000 rows per op (rows/s = 20,000 / (ns/op / 1e9)).
func BenchmarkVerify(b *testing.B) {
	s, err := store.Open("sqlite", filepath.Join(b.TempDir(), "audit.db"))
	require.NoError(b, err)
	require.NoError(b, s.Migrate(context.Background()))
	b.Cleanup(func() { s.Close() })
	for range 20 {
		rows := make([]store.AuditRecord, 1000)
		for i := range rows {
			rows[i] = store.AuditRecord{Time: time.Now().UTC(), RequestID: store.NewID("req"), Method: "GET", Path: "/v1/postbacks", Status: 200}
		}
		require.NoError(b, s.Audit(context.Background()).Insert(rows))
	}
	svc := &Service{Store: s}
	for b.Loop() {
		r, err := svc.Verify(context.Background(), VerifyRequest{})
		if err != nil || !r.OK || r.Rows != 20000 {
			b.Fatalf("%+v %v", r, err)
		}
	}
}
