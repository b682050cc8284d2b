package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/auditchain"
)

// openTwice opens a migrated database twice, as two API replicas would.
func openTwice(t *testing.T, driver string) (*Store, *Store) {
	ctx := context.Background()
	switch driver {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "affrelay.db")
		a, err := Open("sqlite", path)
		require.NoError(t, err)
		require.NoError(t, a.Migrate(ctx))
		b, err := Open("sqlite", path)
		require.NoError(t, err)
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b
	default:
		a := testDatabases(t)["postgres"](t)
		require.NoError(t, a.Migrate(ctx))
		var schema string
		require.NoError(t, a.DB.Raw("SELECT current_schema()").Scan(&schema).Error)
		dsn := os.Getenv("AFFRELAY_TEST_POSTGRES_DSN")
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		b, err := Open("postgres", dsn+sep+"search_path="+schema)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		return a, b
	}
}

func auditRow(i int) AuditRecord {
	return AuditRecord{Time: time.Now().Add(time.Duration(i) * time.Nanosecond), RequestID: fmt.Sprintf("req_%d", i),
		IntegrationID: "int_1", Method: "POST", Path: "/v1/postbacks", Status: 200, LatencyMicros: int64(i), ClientIP: "127.0.0.1"}
}

// Two replicas appending batches at once make one unbroken chain, and the evidence of some of its rows
// proves them up to the next checkpoint.
func TestAuditChainAcrossReplicas(t *testing.T) {
	for driver := range testDatabases(t) {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			a, b := openTwice(t, driver)
			var wg sync.WaitGroup
			for w, s := range []*Store{a, b, a, b} {
				wg.Go(func() {
					for i := range 10 {
						batch := []AuditRecord{auditRow(w*100 + i*3), auditRow(w*100 + i*3 + 1), auditRow(w*100 + i*3 + 2)}
						require.NoError(t, s.Audit(ctx).Insert(batch))
					}
				})
			}
			wg.Wait()
			rows, err := a.Audit(ctx).ChainPage(0, 1000, 1000)
			require.NoError(t, err)
			require.Len(t, rows, 120)
			head, br := auditchain.Check(auditchain.Start, ChainRows(rows))
			require.Nil(t, br)
			stored, err := a.Audit(ctx).Head()
			require.NoError(t, err)
			require.Equal(t, stored, head)

			cp, err := b.Audit(ctx).Checkpoint(AuditCheckpointDaily)
			require.NoError(t, err)
			require.Equal(t, head.Hash, cp.Hash)
			require.NoError(t, a.Audit(ctx).Insert([]AuditRecord{auditRow(999)}))

			ev, err := a.Audit(ctx).Evidence([]string{"req_5", "req_301"})
			require.NoError(t, err)
			require.Len(t, ev.Rows, 2)
			require.NotNil(t, ev.Checkpoint)
			require.Equal(t, auditchain.Anchor{Seq: cp.Seq, Hash: cp.Hash}, ev.Proof.To)
			require.NoError(t, auditchain.VerifyProof(ev.Proof, ChainRows(ev.Rows)))

			// A row edited in between: its digest no longer leads to the checkpoint.
			require.NoError(t, a.DB.Exec("UPDATE audit_records SET status = 500 WHERE seq = ?", *ev.Rows[0].Seq+1).Error)
			ev, err = a.Audit(ctx).Evidence([]string{"req_5", "req_301"})
			require.NoError(t, err)
			require.ErrorContains(t, auditchain.VerifyProof(ev.Proof, ChainRows(ev.Rows)), "lead to")

			// After the last checkpoint the proof ends at the head.
			ev, err = a.Audit(ctx).Evidence([]string{"req_999"})
			require.NoError(t, err)
			require.Nil(t, ev.Checkpoint)
			require.Equal(t, cp.Seq+1, ev.Proof.To.Seq)
			require.NoError(t, auditchain.VerifyProof(ev.Proof, ChainRows(ev.Rows)))
		})
	}
}

// Pruning cuts the chain after the last old row of its first run and keeps that row's hash.
func TestAuditPruneLeavesACheckpoint(t *testing.T) {
	for driver, open := range testDatabases(t) {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			require.NoError(t, s.Migrate(ctx))
			old := time.Now().Add(-48 * time.Hour)
			rows := []AuditRecord{auditRow(1), auditRow(2), auditRow(3), auditRow(4)}
			rows[0].Time, rows[1].Time, rows[3].Time = old, old, old // the fourth waits behind the third
			require.NoError(t, s.Audit(ctx).Insert(rows))
			require.NoError(t, s.DB.Create(&AuditRecord{Time: old, RequestID: "req_unchained", Method: "GET", Path: "/x", Status: 200}).Error)
			n, err := s.Audit(ctx).PruneBefore(time.Now().Add(-24 * time.Hour))
			require.NoError(t, err)
			require.EqualValues(t, 3, n) // rows 1 and 2 and the unchained one
			anchor, ok, err := s.Audit(ctx).AnchorBefore(3)
			require.NoError(t, err)
			require.True(t, ok)
			kept, err := s.Audit(ctx).ChainPage(anchor.Seq, 10, 10)
			require.NoError(t, err)
			_, br := auditchain.Check(anchor, ChainRows(kept))
			require.Nil(t, br)
			n, err = s.Audit(ctx).PruneBefore(time.Now().Add(-24 * time.Hour))
			require.NoError(t, err)
			require.Zero(t, n, "the third row is recent")
		})
	}
}
