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
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

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

// fetchWithRetry runs the fetch as a pull does, tried twice.
func fetchWithRetry(ctx workflow.Context, in PullInput) (FetchReconciliationDayResult, error) {
	var a *Reconciliation
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute, RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Millisecond, MaximumAttempts: 2},
	})
	var res FetchReconciliationDayResult
	err := workflow.ExecuteActivity(ctx, a.FetchReconciliationDay, in).Get(ctx, &res)
	return res, err
}

// The retry of a pull's fetch after a killed attempt (SDK test environment, real retries): the rows the killed
// attempt left half-staged under its batch id are cleared and the day staged once, under the retry's own id;
// a batch the killed attempt had accepted is returned as this pull's without fetching again (the pull then
// starts its workflow).
func TestFetchReconciliationDayAfterAKilledAttempt(t *testing.T) {
	file := "date,player_id,affiliate_id,first_deposit,deposits,ngr,currency\n2026-10-01,p1,,,0,4.00,USD\n2026-10-01,p2,,,0,5.00,USD\n"
	for _, left := range []string{store.BatchStaging, store.BatchProcessing} {
		t.Run("left "+left, func(t *testing.T) {
			s := openStore(t)
			ctx := context.Background()
			var fetches int
			operator := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fetches++
				if fetches == 1 { // the killed attempt's request: its worker is gone, so it fails here
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				w.Header().Set("Content-Type", "text/csv")
				fmt.Fprint(w, file)
			}))
			defer operator.Close()
			r, _ := pullActivityEnv(t, s, operator.URL)
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			env.RegisterWorkflow(fetchWithRetry)
			env.RegisterActivity(r)
			var killed string
			env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
				if info.Attempt != 1 {
					return
				}
				// What the killed first attempt left under its batch id: rows half-staged, or the batch accepted.
				killed = PullBatchID(*info, 1)
				b := store.ReconciliationBatch{ID: killed, IntegrationID: "int", Source: "pull", Status: left, ContentSHA256: "staging:" + killed}
				if left == store.BatchProcessing {
					b.ContentSHA256, b.WorkflowID, b.Rows = "accepted-content", "reconciliation:int:accepted-content", 1
				}
				require.NoError(t, s.CreateBatch(ctx, &b))
				require.NoError(t, s.StageRows(ctx, []store.ReconciliationRow{{BatchID: killed, PlayerID: "half", Day: "2026-10-01", Line: 2, InFile: true, Currency: "USD"}}))
			})
			env.ExecuteWorkflow(fetchWithRetry, PullInput{IntegrationID: "int", Day: "2026-10-01"})
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var res FetchReconciliationDayResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.False(t, res.Duplicate)
			require.True(t, res.Processing)

			var batches []store.ReconciliationBatch
			require.NoError(t, s.DB.Find(&batches).Error)
			require.Len(t, batches, 1, "one batch, no orphan")
			require.Equal(t, res.BatchID, batches[0].ID)
			var players []string
			require.NoError(t, s.DB.Model(&store.ReconciliationRow{}).Order("player_id").Pluck("player_id", &players).Error)
			if left == store.BatchStaging {
				require.Equal(t, 2, fetches)
				require.NotEqual(t, killed, res.BatchID, "the retry stages under its own id")
				require.Equal(t, []string{"p1", "p2"}, players, "the half-staged row cleared, the day staged once")
				require.EqualValues(t, 2, batches[0].Rows)
			} else {
				require.Equal(t, 1, fetches, "accepted already: not fetched again")
				require.Equal(t, killed, res.BatchID)
				require.Equal(t, []string{"half"}, players)
			}
		})
	}
}
