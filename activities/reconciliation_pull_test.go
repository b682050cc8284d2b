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
	require.NoError(t, s.SavePull(context.Background(), store.ReconciliationPull{
		IntegrationID: "int", URLTemplate: operator.URL + "/day/{date}", Cron: "0 6 * * *", TimeZone: "UTC",
	}))
	allow, err := outbound.ParseAllowlist("127.0.0.1")
	require.NoError(t, err)
	r := NewReconciliation(New(s, retrypolicy.DefaultPolicy(), outbound.NewClient(time.Minute, allow)))

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(r)
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
