package store

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Staged rows come back exactly as given, whatever quotes an id holds, on both databases (SQLite stages them
// as literals, PostgreSQL by COPY).
func TestStageRowsKeepsValuesExactly(t *testing.T) {
	for name, open := range testDatabases(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			require.NoError(t, s.Migrate(ctx))
			b := ReconciliationBatch{ID: NewID("rcb"), IntegrationID: "int_1", ContentSHA256: "staging:x", Source: "upload", Status: BatchStaging}
			require.NoError(t, s.CreateBatch(ctx, &b))
			in := []ReconciliationRow{
				{BatchID: b.ID, PlayerID: "O'Brien'); DROP TABLE reconciliation_rows; --", Day: "2026-10-01", Line: 2, InFile: true,
					AffiliateID: `aff "ü" \ '`, Currency: "USD", HasFirstDeposit: true, FirstDepositMinor: 5000, DepositsMinor: 9223372036854775807, NGRMinor: -120},
				{BatchID: b.ID, PlayerID: "p2", Day: "2026-10-02", Line: 3, InFile: true, Currency: "JPY", NGRMinor: 7},
			}
			require.NoError(t, s.StageRows(ctx, in))
			got, err := UnprocessedRows(s.DB, b.ID, RowCursor{}, 10)
			require.NoError(t, err)
			require.Len(t, got, 2)
			for i := range got {
				in[i].ID = got[i].ID
			}
			require.ElementsMatch(t, in, got)
			require.Error(t, s.StageRows(ctx, []ReconciliationRow{{BatchID: b.ID, PlayerID: "nul\x00", Day: "2026-10-03", Currency: "USD"}}))
		})
	}
}
