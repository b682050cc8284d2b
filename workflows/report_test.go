package workflows

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/activities"
)

func TestWeekBefore(t *testing.T) {
	monday := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	for _, now := range []time.Time{
		time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC),                    // the Monday run
		time.Date(2026, 11, 29, 23, 59, 0, 0, time.UTC),                  // Sunday night
		time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),                    // Monday midnight
		time.Date(2026, 11, 24, 1, 0, 0, 0, time.FixedZone("x", 3*3600)), // Monday 22:00 UTC
	} {
		require.Equal(t, monday, WeekBefore(now), now.String())
	}
}

func TestCommissionReportsWorkflowReportsEveryAffiliateOfTheWeek(t *testing.T) {
	env := newEnv(t)
	env.RegisterWorkflow(CommissionReportsWorkflow)
	env.SetStartTime(time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC))
	var all []string
	for i := range affiliatePage + 3 {
		all = append(all, fmt.Sprintf("aff_%04d", i))
	}
	env.OnActivity(acts.ListAffiliates, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ListAffiliatesInput) (activities.ListAffiliatesResult, error) {
		var page []string
		for _, id := range all {
			if id > in.AfterID && len(page) < in.Limit {
				page = append(page, id)
			}
		}
		return activities.ListAffiliatesResult{IDs: page}, nil
	})
	reported := map[string]int{}
	var mu sync.Mutex // the test environment runs the workflow's parallel activities at once
	env.OnActivity(acts.StoreCommissionReport, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.StoreCommissionReportInput) (activities.StoreCommissionReportResult, error) {
		require.Equal(t, time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), in.From)
		require.Equal(t, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), in.To)
		mu.Lock()
		reported[in.AffiliateID]++
		mu.Unlock()
		return activities.StoreCommissionReportResult{ReportID: "rpt_" + in.AffiliateID, Stored: in.AffiliateID != "aff_0000"}, nil
	})
	env.ExecuteWorkflow(CommissionReportsWorkflow, CommissionReportsInput{})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res CommissionReportsResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, CommissionReportsResult{WeekStart: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), Affiliates: len(all), Stored: len(all) - 1}, res)
	require.Len(t, reported, len(all))
	for id, n := range reported {
		require.Equal(t, 1, n, id)
	}
}
