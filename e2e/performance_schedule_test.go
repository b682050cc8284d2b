package e2e

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// A subscription asks for performance.report daily in Berlin time. Triggered through its Schedule, the
// report of yesterday in Berlin arrives signed (verified with the Standard Webhooks library), its figures are
// those of the performance API for the same range, and its commission totals the commission report's. A
// second run sends nothing twice; a bad frequency or time zone is a 400 naming it.
func TestPerformanceReportSchedule(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, _, affiliateID := e.setup(tracker.srv.URL) // CPA 200.00 USD
		finance := newWebhookReceiver(t, always(http.StatusOK))
		r := e.admin("POST", "/v1/admin/webhooks", map[string]any{"url": finance.srv.URL, "events": []string{"performance.report"},
			"report_frequency": "daily", "report_time_zone": "Europe/Berlin"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		subID, secret := r.Body["id"].(string), r.Body["secret"].(string)
		require.Equal(t, "daily", r.Body["report_frequency"])
		require.Equal(t, "Europe/Berlin", r.Body["report_time_zone"])

		berlin, err := time.LoadLocation("Europe/Berlin")
		require.NoError(t, err)
		now := time.Now().In(berlin)
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, berlin)
		yesterday := today.AddDate(0, 0, -1)
		// Two FTDs yesterday in Berlin, one the day before: the report counts the two.
		for i, at := range []time.Time{yesterday.Add(time.Hour), yesterday.Add(20 * time.Hour), yesterday.Add(-time.Hour)} {
			q := ftd("perf-"+string(rune('a'+i)), affiliateID)
			q.Set("player_id", "perf-player-"+string(rune('a'+i)))
			q.Set("occurred_at", at.UTC().Format(time.RFC3339))
			r := e.postback(key, q)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
		}
		eventually(t, 20*time.Second, "three CPAs", func() bool {
			return e.count(&store.LedgerEntry{}, "affiliate_id = ?", affiliateID) == 3
		})

		ctx := context.Background()
		h := e.app.Temporal.ScheduleClient().GetHandle(ctx, workflows.PerformanceReportScheduleID(e.app.Config.Temporal.TaskQueue))
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
		eventually(t, 20*time.Second, "performance.report", func() bool { return len(finance.ofType("performance.report")) == 1 })
		w := finance.ofType("performance.report")[0]
		require.NoError(t, verify(t, secret, w))
		d := data(t, w)
		require.Equal(t, subID, d["subscription_id"])
		require.Equal(t, "daily", d["frequency"])
		require.Equal(t, "Europe/Berlin", d["time_zone"])

		perf := d["performance"].(map[string]any)
		from, err := time.Parse(time.RFC3339, perf["from"].(string))
		require.NoError(t, err)
		to, err := time.Parse(time.RFC3339, perf["to"].(string))
		require.NoError(t, err)
		// The run may straddle a Berlin midnight: the period is the day before the run's, whichever that was.
		require.Contains(t, []time.Time{yesterday.UTC(), today.UTC()}, from.UTC())
		require.Equal(t, from.In(berlin).AddDate(0, 0, 1).UTC(), to.UTC())
		rng := "from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
		api := e.admin("GET", "/v1/admin/performance?group_by=affiliate&"+rng, nil)
		require.Equal(t, http.StatusOK, api.Status, api.Raw)
		require.JSONEq(t, api.Raw, string(mustMarshal(t, perf)))
		if from.Equal(yesterday.UTC()) {
			total := perf["total"].(map[string]any)
			require.EqualValues(t, 2, total["ftds"])
			require.EqualValues(t, 2, total["qualified_cpas"])
		}
		commissions := e.admin("GET", "/v1/affiliates/"+affiliateID+"/commissions?"+rng, nil)
		require.Equal(t, http.StatusOK, commissions.Status, commissions.Raw)
		require.JSONEq(t, string(mustMarshal(t, commissions.Body["totals"])), string(mustMarshal(t, d["commission_totals"])))

		// A second run finds the period sent.
		idle := func(actions int) func() bool { return scheduleIdle(ctx, h, actions) }
		eventually(t, 20*time.Second, "the first run to finish", idle(1))
		time.Sleep(time.Second) // a scheduled run's workflow id carries its start time to the second
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
		eventually(t, 20*time.Second, "the second run", idle(2))
		if to.After(time.Now()) { // still the same period: nothing new
			require.Len(t, finance.ofType("performance.report"), 1, "a period is sent once")
		}

		// Switching to monthly: the next run sends last month, in Berlin time.
		r = e.admin("PATCH", "/v1/admin/webhooks/"+subID, map[string]any{"report_frequency": "monthly"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "monthly", r.Body["report_frequency"])
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"report_frequency": "hourly"}, "report_frequency"},
			{map[string]any{"report_time_zone": "Mars/Olympus"}, "report_time_zone"},
			{map[string]any{"report_time_zone": ""}, "report_time_zone"},
		} {
			r := e.admin("PATCH", "/v1/admin/webhooks/"+subID, tc.body)
			require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			require.Equal(t, tc.field, r.Body["error"].(map[string]any)["field"], r.Raw)
		}
		r = e.admin("GET", "/v1/admin/webhooks/"+subID, nil)
		require.Equal(t, "monthly", r.Body["report_frequency"], "a refused change changes nothing")
		require.Equal(t, "Europe/Berlin", r.Body["report_time_zone"])
	})
}
