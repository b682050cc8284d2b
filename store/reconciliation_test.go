package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Staged rows come back exactly as given, whatever quotes an id holds, on both databases (SQLite stages them
// as literals, PostgreSQL by COPY).
func TestStageRowsKeepsValuesExactly(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, s *Store, ctx context.Context) {
		b := ReconciliationBatch{ID: NewID("rcb"), IntegrationID: "int_1", ContentSHA256: "staging:x", Source: "upload", Status: BatchStaging}
		require.NoError(t, s.CreateBatch(ctx, &b))
		in := []ReconciliationRow{
			{BatchID: b.ID, PlayerID: "O'Brien'); DROP TABLE reconciliation_rows; --", Day: "2026-10-01", Line: 2, InFile: true,
				AffiliateID: `aff "ü" \ '`, Currency: "USD", HasFirstDeposit: true, FirstDepositMinor: 5000, DepositsMinor: 9223372036854775807, NGRMinor: -120},
			{BatchID: b.ID, PlayerID: "p2", Day: "2026-10-02", Line: 3, InFile: true, Currency: "JPY", NGRMinor: 7},
		}
		require.NoError(t, s.StageRows(ctx, in))
		got, err := ChunkRows(s.DB, b.ID, RowCursor{}, 10)
		require.NoError(t, err)
		require.Len(t, got, 2)
		for i := range got {
			in[i].ID = got[i].ID
		}
		require.ElementsMatch(t, in, got)
		require.Error(t, s.StageRows(ctx, []ReconciliationRow{{BatchID: b.ID, PlayerID: "nul\x00", Day: "2026-10-03", Currency: "USD"}}))
	})
}

// A chunk ends with its last player's days, so that chunks applied at once never share a player. A chunk is
// recorded once; the rows that matched are left as staged and count as matched, with the file's figures as
// real time, in the processed batch's totals and listing, and are not listed before.
func TestChunksEndAtAPlayerAndLeaveMatchedRowsAsStaged(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, s *Store, ctx context.Context) {
		b := ReconciliationBatch{ID: NewID("rcb"), IntegrationID: "int_1", ContentSHA256: "staging:y", Source: "upload", Status: BatchStaging}
		require.NoError(t, s.CreateBatch(ctx, &b))
		var in []ReconciliationRow
		for i, pd := range [][2]string{{"a", "2026-10-01"}, {"a", "2026-10-02"}, {"b", "2026-10-01"}, {"b", "2026-10-02"}, {"b", "2026-10-03"}, {"c", "2026-10-01"}} {
			in = append(in, ReconciliationRow{BatchID: b.ID, PlayerID: pd[0], Day: pd[1], Line: i + 2, InFile: true, Currency: "USD", DepositsMinor: 100, NGRMinor: int64(10 * i)})
		}
		require.NoError(t, s.StageRows(ctx, in))

		first, err := ChunkRows(s.DB, b.ID, RowCursor{}, 3)
		require.NoError(t, err)
		require.Len(t, first, 5, "b's other days join the chunk")
		require.Equal(t, RowCursor{PlayerID: "b", Day: "2026-10-03"}, RowCursor{PlayerID: first[4].PlayerID, Day: first[4].Day})
		rest, err := ChunkRows(s.DB, b.ID, RowCursor{PlayerID: "b", Day: "2026-10-03"}, 3)
		require.NoError(t, err)
		require.Len(t, rest, 1)

		chunk := ReconciliationChunk{BatchID: b.ID, LastPlayerID: "b", LastDay: "2026-10-03", Rows: 5} // the batch's first
		for i, want := range []bool{true, false} {
			require.NoError(t, s.Transaction(ctx, func(tx *Store) error {
				recorded, err := CommitChunk(tx.DB, chunk)
				require.Equal(t, want, recorded, "commit %d", i)
				return err
			}))
		}
		committed, err := CommittedChunks(s.DB, b.ID, RowCursor{PlayerID: "a", Day: "2026-10-02"})
		require.NoError(t, err)
		require.Equal(t, []ReconciliationChunk{chunk}, committed)
		committed, err = CommittedChunks(s.DB, b.ID, chunk.Last())
		require.NoError(t, err)
		require.Empty(t, committed)

		differing := first[1]
		differing.Status, differing.RTCurrencies, differing.RTNGRMinor, differing.NGRDeltaMinor = "corrected", "USD", 7, 3
		require.NoError(t, SaveRowResult(s.DB, differing))
		listed := func(status string, processed bool) []string {
			rows, err := s.BatchRows(ctx, b.ID, status, "matched", processed, 0, 10)
			require.NoError(t, err)
			var out []string
			for _, r := range rows {
				out = append(out, fmt.Sprintf("%s %s %s %s %d %d", r.PlayerID, r.Day, r.Status, r.RTCurrencies, r.RTDepositsMinor, r.RTNGRMinor))
			}
			return out
		}
		require.Equal(t, []string{"a 2026-10-02 corrected USD 0 7"}, listed("", false))
		require.Empty(t, listed("matched", false), "not compared yet")
		require.Equal(t, []string{"a 2026-10-02 corrected USD 0 7"}, listed("", true))
		require.Equal(t, []string{"a 2026-10-01 matched USD 100 0", "b 2026-10-01 matched USD 100 20", "b 2026-10-02 matched USD 100 30",
			"b 2026-10-03 matched USD 100 40", "c 2026-10-01 matched USD 100 50"}, listed("matched", true))
		counts, totals, _, err := s.BatchTotals(ctx, b.ID, "matched", "currency_mismatch")
		require.NoError(t, err)
		require.Equal(t, []StatusCount{{Status: "matched", N: 5}, {Status: "corrected", N: 1}}, counts)
		require.Equal(t, []CurrencyTotals{{Currency: "USD", DepositsMinor: 600, NGRMinor: 150, RTDepositsMinor: 500, RTNGRMinor: 147}}, totals)
	})
}

// Batches still staging long after they began (their upload or pull died mid-stream) go with their rows;
// a batch staging now and an accepted one stay.
func TestDeleteAbandonedStaging(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, s *Store, ctx context.Context) {
		hourAgo := time.Now().Add(-time.Hour)
		batch := func(status string, created time.Time) string {
			b := ReconciliationBatch{ID: NewID("rcb"), IntegrationID: "int_1", Source: "pull", Status: status, CreatedAt: created}
			b.ContentSHA256 = "staging:" + b.ID
			require.NoError(t, s.CreateBatch(ctx, &b))
			require.NoError(t, s.StageRows(ctx, []ReconciliationRow{{BatchID: b.ID, PlayerID: "p", Day: "2026-10-01", Line: 2, InFile: true, Currency: "USD"}}))
			return b.ID
		}
		abandoned := batch(BatchStaging, hourAgo.Add(-time.Minute))
		live := batch(BatchStaging, time.Now())
		accepted := batch(BatchProcessing, hourAgo.Add(-time.Hour))
		n, err := s.DeleteAbandonedStaging(ctx, hourAgo)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		var left []string
		require.NoError(t, s.DB.Model(&ReconciliationRow{}).Distinct("batch_id").Order("batch_id").Pluck("batch_id", &left).Error)
		require.ElementsMatch(t, []string{live, accepted}, left)
		_, err = s.Batch(ctx, "", abandoned)
		require.Error(t, err)
	})
}

// A batch deleted while it was staged (a pull's retry took over from an attempt that lived on) is not
// accepted: the attempt fails instead of reporting a batch that is gone.
func TestAcceptBatchRefusesABatchNoLongerStaging(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, s *Store, ctx context.Context) {
		b := ReconciliationBatch{ID: NewID("rcb"), IntegrationID: "int_1", Source: "pull", Status: BatchStaging}
		b.ContentSHA256 = "staging:" + b.ID
		require.NoError(t, s.CreateBatch(ctx, &b))
		require.NoError(t, s.DeleteBatch(ctx, b.ID))
		b.ContentSHA256, b.WorkflowID = "content", "reconciliation:int_1:content"
		_, _, err := s.AcceptBatch(ctx, &b)
		require.ErrorContains(t, err, "no longer staging")
		var n int64
		require.NoError(t, s.DB.Model(&ReconciliationBatch{}).Count(&n).Error)
		require.Zero(t, n)
	})
}

// onEachDatabase runs f on a migrated store of each test database.
func onEachDatabase(t *testing.T, f func(t *testing.T, s *Store, ctx context.Context)) {
	for name, open := range testDatabases(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			require.NoError(t, s.Migrate(ctx))
			f(t, s, ctx)
		})
	}
}
