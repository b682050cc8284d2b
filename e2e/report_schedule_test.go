package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

func TestWeeklyCommissionReportSchedule(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		finance := newWebhookReceiver(t, always(http.StatusOK))
		_, secret := e.subscribe("webhook", finance.srv.URL, "commission.report")
		week := workflows.WeekBefore(time.Now())
		for i, at := range []time.Time{week.Add(36 * time.Hour), week.Add(-time.Hour)} { // in the week, and before it
			q := ftd("wk-"+string(rune('a'+i)), affiliateID)
			q.Set("occurred_at", at.Format(time.RFC3339))
			r := e.postback(key, q)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
		}
		eventually(t, 20*time.Second, "both CPAs", func() bool {
			return e.count(&store.LedgerEntry{}, "affiliate_id = ?", affiliateID) == 2
		})
		other := e.admin("POST", "/v1/admin/affiliates", map[string]any{"name": "Quiet", "plan": map[string]any{"type": "cpa", "amount": "1.00", "currency": "USD"}})
		require.Equal(t, http.StatusCreated, other.Status)

		// The Schedule exists from worker start; trigger it now instead of waiting for Monday, twice.
		ctx := context.Background()
		h := e.app.Temporal.ScheduleClient().GetHandle(ctx, workflows.CommissionReportScheduleID(e.app.Config.Temporal.TaskQueue))
		desc, err := h.Describe(ctx)
		require.NoError(t, err)
		next := desc.Info.NextActionTimes[0].UTC()
		require.Equal(t, []any{time.Monday, 6, 0}, []any{next.Weekday(), next.Hour(), next.Minute()}, "runs Mondays 06:00 UTC")
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
		eventually(t, 20*time.Second, "a report per affiliate", func() bool {
			return e.count(&store.CommissionReport{}, "period_start = ?", week) == 2
		})
		var rep store.CommissionReport
		require.NoError(t, e.app.Store.DB.Where("affiliate_id = ?", affiliateID).Take(&rep).Error)
		var doc commission.Document
		require.NoError(t, json.Unmarshal([]byte(rep.Body), &doc))
		// Only the ftd inside the week: 200.00, the same as the report API for that week.
		require.Equal(t, []commission.DocumentRow{{Currency: "USD", Entries: 1, Amount: "200.00"}}, doc.Totals)
		api := e.admin("GET", "/v1/affiliates/"+affiliateID+"/commissions?group_by=day&from="+url.QueryEscape(week.Format(time.RFC3339))+
			"&to="+url.QueryEscape(week.AddDate(0, 0, 7).Format(time.RFC3339)), nil)
		require.Equal(t, "200.00", reportTotal(t, api))

		// Each stored report goes out as a signed commission.report webhook whose data is the report.
		eventually(t, 20*time.Second, "a commission.report per affiliate", func() bool { return len(finance.ofType("commission.report")) == 2 })
		var sent *receivedWebhook
		for _, w := range finance.ofType("commission.report") {
			require.NoError(t, verify(t, secret, w))
			if data(t, w)["affiliate_id"] == affiliateID {
				sent = &w
			}
		}
		require.NotNil(t, sent)
		require.JSONEq(t, rep.Body, string(mustMarshal(t, data(t, *sent))))

		idle := func(actions int) func() bool { return scheduleIdle(ctx, h, actions) }
		eventually(t, 20*time.Second, "the first run to finish", idle(1))
		time.Sleep(time.Second) // a scheduled run's workflow id carries its start time to the second
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
		eventually(t, 20*time.Second, "the second run", idle(2))
		require.EqualValues(t, 2, e.count(&store.CommissionReport{}, "1 = 1"), "a week is stored once")
		require.Len(t, finance.ofType("commission.report"), 2, "and sent once")
	})
}

// scheduleIdle says whether the Schedule has taken actions actions and none of its runs is running.
func scheduleIdle(ctx context.Context, h client.ScheduleHandle, actions int) func() bool {
	return func() bool {
		d, err := h.Describe(ctx)
		return err == nil && len(d.Info.RecentActions) == actions && len(d.Info.RunningWorkflows) == 0
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestCronSchedulesRunAtTheirCron: the worker's cron Schedules exist from its start, each due at its cron's
// times (UTC) and starting its workflow on the worker's task queue.
func TestCronSchedulesRunAtTheirCron(t *testing.T) {
	forEachStore(t, shortPolicy(1), func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		tq := e.app.Config.Temporal.TaskQueue
		for id, want := range map[string]struct {
			workflow string
			due      func(time.Time) bool
		}{
			workflows.CommissionReportScheduleID(tq): {"CommissionReportsWorkflow", func(at time.Time) bool {
				return at.Weekday() == time.Monday && at.Hour() == 6 && at.Minute() == 0
			}},
			workflows.PerformanceReportScheduleID(tq): {"PerformanceReportsWorkflow", func(at time.Time) bool { return at.Minute() == 5 }},
			workflows.AuditCheckpointScheduleID(tq):   {"AuditCheckpointWorkflow", func(at time.Time) bool { return at.Hour() == 0 && at.Minute() == 10 }},
		} {
			d, err := e.app.Temporal.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
			require.NoError(t, err, id)
			require.NotEmpty(t, d.Info.NextActionTimes, id)
			for _, at := range d.Info.NextActionTimes {
				require.True(t, want.due(at.UTC()), "%s is due at %s", id, at.UTC())
			}
			action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
			require.True(t, ok, id)
			require.Equal(t, want.workflow, action.Workflow, id)
			require.Equal(t, tq, action.TaskQueue, id)
		}
	})
}
