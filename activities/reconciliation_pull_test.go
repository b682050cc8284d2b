package activities

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/affrelay/affrelay/outbound"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// pullActivityEnv is the reconciliation activities in an SDK test environment, on s, pulling integration "int"
// from the operator at operatorURL (loopback allowed).
func pullActivityEnv(t *testing.T, s *store.Store, operatorURL string) (*Reconciliation, *testsuite.TestActivityEnvironment) {
	require.NoError(t, s.SavePull(context.Background(), store.ReconciliationPull{
		IntegrationID: "int", URLTemplate: operatorURL + "/day/{date}", Cron: "0 6 * * *", TimeZone: "UTC",
	}))
	allow, err := outbound.ParseAllowlist("127.0.0.1")
	require.NoError(t, err)
	r := NewReconciliation(New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Minute, allow)))
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(r)
	return r, env
}

// A pull heartbeats while the operator's file streams into staging: the operator holds the rest of its file
// until a heartbeat has reported the bytes of the first part, then the day is staged whole.
func TestFetchReconciliationDayHeartbeatsWhileStreaming(t *testing.T) {
	s := openStore(t)
	firstPart := "date,player_id,affiliate_id,first_deposit,deposits,ngr,currency\n2026-10-01,p1,,,0,4.00,USD\n"
	beat := make(chan struct{})
	var once sync.Once
	operator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprint(w, firstPart)
		w.(http.Flusher).Flush()
		select {
		case <-beat:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "2026-10-01,p2,,,0,5.00,USD\n")
	}))
	defer operator.Close()
	r, env := pullActivityEnv(t, s, operator.URL)
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var read int64
		if details.Get(&read) == nil && read >= int64(len(firstPart)) {
			once.Do(func() { close(beat) })
		}
	})
	val, err := env.ExecuteActivity(r.FetchReconciliationDay, PullInput{IntegrationID: "int", Day: "2026-10-01"})
	require.NoError(t, err)
	var res FetchReconciliationDayResult
	require.NoError(t, val.Get(&res))
	b, err := s.Batch(context.Background(), "int", res.BatchID)
	require.NoError(t, err)
	require.Equal(t, store.BatchProcessing, b.Status)
	require.EqualValues(t, 2, b.Rows)
}

// A retry of a pull's fetch after its worker was killed: the rows the killed attempt left half-staged under
// the pull's batch id are cleared and the day staged once; a batch the killed attempt had accepted is
// returned as this pull's, without fetching again (its workflow is then started by the pull).
func TestFetchReconciliationDayAfterAKilledAttempt(t *testing.T) {
	file := "date,player_id,affiliate_id,first_deposit,deposits,ngr,currency\n2026-10-01,p1,,,0,4.00,USD\n2026-10-01,p2,,,0,5.00,USD\n"
	var fetches int
	operator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprint(w, file)
	}))
	defer operator.Close()
	ctx := context.Background()
	// fetch runs the activity as one attempt of the test environment's activity, whose ids are the same in
	// every new environment: the same pull, tried again.
	fetch := func(s *store.Store) FetchReconciliationDayResult {
		r, env := pullActivityEnv(t, s, operator.URL)
		val, err := env.ExecuteActivity(r.FetchReconciliationDay, PullInput{IntegrationID: "int", Day: "2026-10-01"})
		require.NoError(t, err)
		var res FetchReconciliationDayResult
		require.NoError(t, val.Get(&res))
		return res
	}
	id := fetch(openStore(t)).BatchID // the pull's batch id
	for _, left := range []string{store.BatchStaging, store.BatchProcessing} {
		t.Run("left "+left, func(t *testing.T) {
			s := openStore(t)
			// What the killed attempt left: its batch, half-staged or accepted.
			b := store.ReconciliationBatch{ID: id, IntegrationID: "int", Source: "pull", Status: left, ContentSHA256: "staging:" + id}
			if left == store.BatchProcessing {
				b.ContentSHA256, b.WorkflowID, b.Rows = "accepted-content", "reconciliation:int:accepted-content", 1
			}
			require.NoError(t, s.CreateBatch(ctx, &b))
			require.NoError(t, s.StageRows(ctx, []store.ReconciliationRow{{BatchID: id, PlayerID: "half", Day: "2026-10-01", Line: 2, InFile: true, Currency: "USD"}}))
			fetches = 0
			res := fetch(s)
			require.Equal(t, id, res.BatchID)
			require.False(t, res.Duplicate)
			require.True(t, res.Processing)

			var batches []store.ReconciliationBatch
			require.NoError(t, s.DB.Find(&batches).Error)
			require.Len(t, batches, 1, "one batch, no orphan")
			var players []string
			require.NoError(t, s.DB.Model(&store.ReconciliationRow{}).Order("player_id").Pluck("player_id", &players).Error)
			if left == store.BatchStaging {
				require.Equal(t, 1, fetches)
				require.Equal(t, []string{"p1", "p2"}, players, "the half-staged row cleared, the day staged once")
				require.EqualValues(t, 2, batches[0].Rows)
			} else {
				require.Equal(t, 0, fetches, "accepted already: not fetched again")
				require.Equal(t, []string{"half"}, players)
			}
		})
	}
}
