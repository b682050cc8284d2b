package activities

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// A chunk read across the start of a committed one (committed by a run with another chunk size) ends before it.
func TestCommittedChunksCut(t *testing.T) {
	rows := func(keys ...string) []store.ReconciliationRow {
		var out []store.ReconciliationRow
		for _, k := range keys {
			out = append(out, store.ReconciliationRow{PlayerID: k[:1], Day: k[1:]})
		}
		return out
	}
	committed := committedChunks{{PlayerID: "b", Day: "2"}: {AfterPlayerID: "b", AfterDay: "2", LastPlayerID: "d", LastDay: "1"}}
	require.Equal(t, rows("a1", "a2", "b1"), committed.cut(rows("a1", "a2", "b1")), "none committed among them")
	require.Equal(t, rows("a1", "b1", "b2"), committed.cut(rows("a1", "b1", "b2", "c1", "c2")), "runs into a committed chunk")
	require.Equal(t, rows("a1", "b1", "b2"), committed.cut(rows("a1", "b1", "b2")), "ends where a committed chunk begins")
}

// ProcessReconciliationRows against a real SQLite store, as the workflow runs it: each run stops after about
// MaxRows and the next run goes on from the chunks committed; a retry that resumes from an older heartbeat
// (a killed worker) passes over the chunks committed after it. Every row is in exactly one chunk.
func TestProcessReconciliationRowsGoesOnFromTheChunksCommitted(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	b := store.ReconciliationBatch{ID: store.NewID("rcb"), IntegrationID: "int", ContentSHA256: "c", Source: "upload", Status: store.BatchProcessing}
	require.NoError(t, s.CreateBatch(ctx, &b))
	var rows []store.ReconciliationRow
	for p := range 20 {
		for d := range 3 { // unknown players: each row is saved, nothing is written to the ledger
			rows = append(rows, store.ReconciliationRow{BatchID: b.ID, PlayerID: fmt.Sprintf("p%02d", p), Day: fmt.Sprintf("2026-10-%02d", d+1),
				Line: len(rows) + 2, InFile: true, Currency: "USD", NGRMinor: 100})
		}
	}
	require.NoError(t, s.StageRows(ctx, rows))
	r := NewReconciliation(New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Second, outbound.Allowlist{})))
	r.ChunkRows = 6 // two players a chunk
	var suite testsuite.WorkflowTestSuite
	run := func(heartbeat *store.RowCursor) ProcessReconciliationRowsResult {
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(r)
		if heartbeat != nil {
			env.SetHeartbeatDetails(*heartbeat)
		}
		val, err := env.ExecuteActivity(r.ProcessReconciliationRows, ProcessReconciliationRowsInput{BatchID: b.ID, MaxRows: 24})
		require.NoError(t, err)
		var res ProcessReconciliationRowsResult
		require.NoError(t, val.Get(&res))
		return res
	}
	require.Equal(t, ProcessReconciliationRowsResult{Processed: 24}, run(nil))
	// A retry from an older heartbeat (a worker killed after it had heartbeated its third chunk, with its
	// fourth committed): the fourth is passed over.
	require.Equal(t, ProcessReconciliationRowsResult{Processed: 24}, run(&store.RowCursor{PlayerID: "p05", Day: "2026-10-03"}))
	// The workflow's next run starts at the batch's start and passes over the eight chunks committed.
	require.Equal(t, ProcessReconciliationRowsResult{Processed: 12, Done: true}, run(nil))
	var chunks []store.ReconciliationChunk
	require.NoError(t, s.DB.Order("last_player_id").Find(&chunks).Error)
	require.Len(t, chunks, 10)
	after := store.RowCursor{}
	for _, c := range chunks {
		require.Equal(t, after, c.After(), "chunks follow each other")
		require.Equal(t, 6, c.Rows)
		after = c.Last()
	}
	require.Equal(t, store.RowCursor{PlayerID: "p19", Day: "2026-10-03"}, after)
	var unknown int64
	require.NoError(t, s.DB.Model(&store.ReconciliationRow{}).Where("status = ?", "unknown_player").Count(&unknown).Error)
	require.EqualValues(t, 60, unknown)
}
