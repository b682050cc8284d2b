package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
	"github.com/affrelay/affrelay/workflows"
)

// TestRecordHistories runs one scenario per workflow path against the real dev server and writes each
// workflow's history to $AFFRELAY_RECORD_HISTORIES/<WorkflowType>/<prefix><scenario>.json, for the replay test
// in workflows/ (see docs/replay-tests.md). It is skipped unless that variable is set:
//
//	AFFRELAY_RECORD_HISTORIES=$PWD/workflows/testdata/histories go test ./e2e/ -run TestRecordHistories
//
// AFFRELAY_RECORD_PREFIX (e.g. "before-redeliver_") names histories recorded with an older commit's code.
func TestRecordHistories(t *testing.T) {
	dir := os.Getenv("AFFRELAY_RECORD_HISTORIES")
	if dir == "" {
		t.Skip("AFFRELAY_RECORD_HISTORIES is not set")
	}
	// Payouts remind after 3 seconds, so the reminder and needs_review path is recorded in real time.
	// A pull's fetch gives up after 2 quick attempts.
	e := startApp(t, "sqlite", shortPolicy(2), func(c *config.Config) {
		c.Payout.ReminderAfter = 3 * time.Second
		c.Reconciliation.PullAttempts, c.Reconciliation.PullBackoff = 2, 100*time.Millisecond
	})
	record := func(workflowType, scenario, workflowID string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, e.app.Temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil), workflowID)
		var h historypb.History
		iter := e.app.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			event, err := iter.Next()
			require.NoError(t, err)
			h.Events = append(h.Events, event)
		}
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&h)
		require.NoError(t, err)
		path := filepath.Join(dir, workflowType, os.Getenv("AFFRELAY_RECORD_PREFIX")+scenario+".json")
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
		t.Logf("recorded %s (%d events)", path, len(h.Events))
	}
	deliveryOf := func(eventID string) string {
		var id string
		eventually(t, 30*time.Second, "the delivery of "+eventID, func() bool {
			ds := e.deliveries("event_id=" + eventID)
			if len(ds) == 1 {
				id = ds[0]["id"].(string)
			}
			return id != ""
		})
		return id
	}
	awaitState := func(eventID, state string) {
		eventually(t, 30*time.Second, eventID+" "+state, func() bool {
			ds := e.deliveries("event_id=" + eventID)
			return len(ds) == 1 && ds[0]["status"] == state
		})
	}
	// pullOneDay saves an integration's pull settings, backfills 2026-10-01 and returns the finished pull's id.
	pullOneDay := func(integrationID string, settings map[string]any) string {
		r := e.admin("PUT", "/v1/admin/integrations/"+integrationID+"/reconciliation/pull-settings", settings)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		bf := e.admin("POST", "/v1/admin/integrations/"+integrationID+"/reconciliation/pull", map[string]any{"from": "2026-10-01", "to": "2026-10-01"})
		require.Equal(t, http.StatusAccepted, bf.Status, bf.Raw)
		id := workflows.ReconciliationPullWorkflowID(integrationID, "2026-10-01")
		require.NoError(t, e.app.Temporal.GetWorkflow(context.Background(), id, "").Get(context.Background(), nil))
		return id
	}
	scenarios := map[string]func(){
		// The happy path: the first attempt, inside the conversion's own workflow task, delivers.
		"conversion-delivered": func() {
			tracker := newSink(t, always(http.StatusOK))
			key, integrationID, affiliateID := e.setup(tracker.srv.URL)
			require.Equal(t, "accepted", e.postback(key, ftd("rec-ok", affiliateID)).Body["status"])
			awaitState("rec-ok", "delivered")
			record("ConversionWorkflow", "conversion-delivered", workflows.ConversionWorkflowID(integrationID, "rec-ok"))
		},
		// A pending ftd, then approved by a later postback: the status change's ConversionWorkflow earns and delivers.
		"conversion-status-approved": func() {
			tracker := newSink(t, always(http.StatusOK))
			key, integrationID, affiliateID := e.setup(tracker.srv.URL)
			pending := ftd("rec-pending", affiliateID)
			pending.Set("status", "pending")
			require.Equal(t, "accepted", e.postback(key, pending).Body["status"])
			eventually(t, 30*time.Second, "rec-pending recorded", func() bool {
				return e.count(&store.Conversion{}, "event_id = ? AND status = ?", "rec-pending", "pending") == 1
			})
			pending.Set("status", "approved")
			require.Equal(t, "status_changed", e.postback(key, pending).Body["status"])
			awaitState("rec-pending", "delivered")
			record("ConversionWorkflow", "conversion-status-approved", workflows.ConversionStatusWorkflowID(integrationID, "rec-pending", "approved"))
		},
		// The first attempt fails: a DeliveryWorkflow child retries and delivers.
		"conversion-retried": func() {
			tracker := newSink(t, func(n int) int {
				if n == 1 {
					return http.StatusServiceUnavailable
				}
				return http.StatusOK
			})
			key, integrationID, affiliateID := e.setup(tracker.srv.URL)
			require.Equal(t, "accepted", e.postback(key, ftd("rec-retry", affiliateID)).Body["status"])
			id := deliveryOf("rec-retry")
			awaitState("rec-retry", "delivered")
			record("ConversionWorkflow", "conversion-first-attempt-failed", workflows.ConversionWorkflowID(integrationID, "rec-retry"))
			record("DeliveryWorkflow", "retried-delivered", workflows.DeliveryWorkflowID(id))
		},
		// The FX rate is missing: the conversion waits (fx_rate_missing) until the rate is added.
		"conversion-fx-rate-missing": func() {
			r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "casino-" + store.NewID("n")})
			key, integrationID := r.Body["api_key"].(string), r.Body["id"].(string)
			r = e.admin("POST", "/v1/admin/affiliates", map[string]any{"name": "FX", "plan": map[string]any{
				"type": "cpa", "amount": "150.00", "currency": "USD", "qualification": map[string]any{"min_first_deposit": "50.00"},
			}})
			q := url.Values{"event_id": {"rec-fx"}, "event": {"ftd"}, "affiliate_id": {r.Body["id"].(string)}, "amount": {"75.00"}, "currency": {"EUR"}}
			require.Equal(t, "accepted", e.postback(key, q).Body["status"])
			id := workflows.ConversionWorkflowID(integrationID, "rec-fx")
			eventually(t, 30*time.Second, "rec-fx waiting for its rate", func() bool {
				res, err := e.app.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
					Query: workflows.ConversionStateKey.GetName() + " = '" + workflows.ConversionStateFXRateMissing + "' AND WorkflowId = '" + id + "'",
				})
				return err == nil && len(res.GetExecutions()) == 1
			})
			r = e.admin("POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": "1.08", "effective_from": "2020-01-01T00:00:00Z"})
			require.Equal(t, http.StatusCreated, r.Status, r.Raw)
			record("ConversionWorkflow", "conversion-fx-rate-missing", id)
		},
		// needs_review, then the operator redelivers and it is delivered; and needs_review, then skip.
		"delivery-review": func() {
			tracker := newSink(t, always(http.StatusInternalServerError))
			key, _, affiliateID := e.setup(tracker.srv.URL)
			require.Equal(t, "accepted", e.postback(key, ftd("rec-review", affiliateID)).Body["status"])
			require.Equal(t, "accepted", e.postback(key, ftd("rec-skip", affiliateID)).Body["status"])
			review, skip := deliveryOf("rec-review"), deliveryOf("rec-skip")
			awaitState("rec-review", "needs_review")
			awaitState("rec-skip", "needs_review")
			tracker.setStatus(always(http.StatusOK))
			r := e.admin("POST", "/v1/admin/deliveries/"+review+"/redeliver", nil)
			require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
			r = e.admin("POST", "/v1/admin/deliveries/"+skip+"/skip", nil)
			require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
			awaitState("rec-review", "delivered")
			awaitState("rec-skip", "skipped")
			record("DeliveryWorkflow", "review-redeliver-delivered", workflows.DeliveryWorkflowID(review))
			record("DeliveryWorkflow", "review-skip", workflows.DeliveryWorkflowID(skip))
		},
		// A delivered delivery re-fired by an operator: a new run that goes back to pending and delivers again.
		"delivery-refire": func() {
			tracker := newSink(t, always(http.StatusOK))
			key, _, affiliateID := e.setup(tracker.srv.URL)
			require.Equal(t, "accepted", e.postback(key, ftd("rec-refire", affiliateID)).Body["status"])
			id := deliveryOf("rec-refire")
			awaitState("rec-refire", "delivered")
			e.refire(id, "the affiliate lost it")
			eventually(t, 30*time.Second, "re-fired and delivered", func() bool { return len(tracker.received()) == 2 })
			awaitState("rec-refire", "delivered")
			record("DeliveryWorkflow", "refire-delivered", workflows.DeliveryWorkflowID(id))
		},
		// The endpoint is disabled between attempts 1 and 2: the delivery is held.
		"delivery-held": func() {
			tracker := newSink(t, always(http.StatusServiceUnavailable))
			key, _, affiliateID := e.setup(tracker.srv.URL)
			require.Equal(t, "accepted", e.postback(key, ftd("rec-held", affiliateID)).Body["status"])
			id := deliveryOf("rec-held")
			eventually(t, 30*time.Second, "attempt 1", func() bool { return len(tracker.received()) == 1 })
			endpointID := e.deliveries("event_id=rec-held")[0]["endpoint_id"].(string)
			r := e.admin("PATCH", "/v1/admin/affiliates/"+affiliateID+"/postback-endpoints/"+endpointID, map[string]any{"enabled": false})
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			awaitState("rec-held", "held")
			record("DeliveryWorkflow", "held-when-disabled", workflows.DeliveryWorkflowID(id))
		},
		// A bulk re-fire job of two deliveries in needs_review.
		"refire-job": func() {
			tracker := newSink(t, always(http.StatusInternalServerError))
			key, _, affiliateID := e.setup(tracker.srv.URL)
			require.Equal(t, "accepted", e.postback(key, ftd("rec-job-1", affiliateID)).Body["status"])
			require.Equal(t, "accepted", e.postback(key, ftd("rec-job-2", affiliateID)).Body["status"])
			awaitState("rec-job-1", "needs_review")
			awaitState("rec-job-2", "needs_review")
			tracker.setStatus(always(http.StatusOK))
			r := e.admin("POST", "/v1/admin/deliveries/refire", map[string]any{
				"reason": "tracker fixed", "status": "needs_review", "event_ids": []string{"rec-job-1", "rec-job-2"},
			})
			require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
			e.refireJobDone(r.Body["job_id"].(string))
			record("RefireJobWorkflow", "two-in-review", workflows.RefireJobWorkflowID(r.Body["job_id"].(string)))
		},
		"affiliate-signup": func() {
			crm := newSink(t, always(http.StatusOK))
			e.subscribe("crm", crm.srv.URL, "affiliate.created")
			id := e.signUp("Recorded Partner")
			record("AffiliateSignupWorkflow", "signup", workflows.AffiliateSignupWorkflowID(id))
		},
		"commission-reports": func() {
			tracker := newSink(t, always(http.StatusOK))
			key, _, affiliateID := e.setup(tracker.srv.URL)
			q := ftd("rec-week", affiliateID)
			q.Set("occurred_at", workflows.WeekBefore(time.Now()).Add(36*time.Hour).Format(time.RFC3339))
			require.Equal(t, "accepted", e.postback(key, q).Body["status"])
			awaitState("rec-week", "delivered")
			record("CommissionReportsWorkflow", "weekly", triggerSchedule(t, e, workflows.CommissionReportScheduleID(e.app.Config.Temporal.TaskQueue)))
		},
		"performance-reports": func() {
			hooks := newWebhookReceiver(t, always(http.StatusOK))
			r := e.admin("POST", "/v1/admin/webhooks", map[string]any{"url": hooks.srv.URL, "events": []string{webhook.PerformanceReport}, "report_frequency": "daily"})
			require.Equal(t, http.StatusCreated, r.Status, r.Raw)
			record("PerformanceReportsWorkflow", "daily", triggerSchedule(t, e, workflows.PerformanceReportScheduleID(e.app.Config.Temporal.TaskQueue)))
		},
		"audit-checkpoint": func() {
			hooks := newWebhookReceiver(t, always(http.StatusOK))
			e.subscribe("webhook", hooks.srv.URL, webhook.AuditCheckpoint)
			record("AuditCheckpointWorkflow", "daily", triggerSchedule(t, e, workflows.AuditCheckpointScheduleID(e.app.Config.Temporal.TaskQueue)))
		},
		"reconciliation": func() {
			hooks := newWebhookReceiver(t, always(http.StatusOK))
			e.subscribe("webhook", hooks.srv.URL, webhook.ReconciliationDone)
			m, aff := reconSetup(e)
			m.send("rec-p1", "ftd", aff, "p1", "50.00", "USD", "10-01")
			up := e.uploadBatch(m.key, "text/csv", reconHeader+"2026-10-01,p1,,50.00,50.00,12.00,USD\n2026-10-02,p2,"+aff+",20.00,20.00,0,USD\n")
			require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
			id := up.Body["workflow_id"].(string)
			require.NoError(t, e.app.Temporal.GetWorkflow(context.Background(), id, "").Get(context.Background(), nil))
			record("ReconciliationWorkflow", "batch", id)
		},
		"reconciliation-pull": func() {
			m, aff := reconSetup(e)
			op := operatorAPI(t, aff)
			record("ReconciliationPullWorkflow", "backfill-day", pullOneDay(m.integrationID, map[string]any{
				"url_template": op.URL + "/revenue?day={date}", "auth_header": "X-Operator-Key", "auth_value": "op-secret-123", "cron": "0 3 * * *",
			}))
		},
		// The operator's endpoint fails: the fetch gives up, the day's batch fails, ops.reconciliation_pull_failed goes out.
		"reconciliation-pull-failed": func() {
			hooks := newWebhookReceiver(t, always(http.StatusOK))
			e.subscribe("webhook", hooks.srv.URL, webhook.ReconciliationPullFailed)
			m, _ := reconSetup(e)
			op := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
			t.Cleanup(op.Close)
			record("ReconciliationPullWorkflow", "failed", pullOneDay(m.integrationID, map[string]any{
				"url_template": op.URL + "/revenue?day={date}", "cron": "0 3 * * *",
			}))
		},
		// A cycle run by hand: one payout paid at once, one failed, one rolled over (its net is zero), one
		// reminded, moved to needs_review, then paid.
		"payouts": func() {
			key, _, _ := e.setup(newSink(t, always(http.StatusOK)).srv.URL)
			p := &payoutTest{testEnv: e, t: t, key: key, model: &payoutModel{}}
			sep := time.Date(2026, 9, 10, 12, 0, 0, 0, time.UTC)
			ids := map[string]string{}
			for _, name := range []string{"paid", "failed", "rolled-over", "reminded-needs-review-paid"} {
				ids[name] = p.affiliate("Rec "+name, "10.00")
				p.ftd(ids[name], "rec-pay-"+name, sep, 1000)
			}
			p.chargeback(ids["rolled-over"], "rec-pay-rolled-over", sep.Add(time.Hour), 1000)
			p.waitForEntries()
			st := p.run("2026-09", 4)
			payoutID := func(name string) string { return st[ids[name]]["payout_id"].(string) }
			require.Equal(t, http.StatusOK, p.confirm(payoutID("paid"), nil, paid("rec-wire-1")).Status)
			require.Equal(t, http.StatusOK, p.confirm(payoutID("failed"), nil, map[string]any{"status": "failed", "external_ref": "rec-wire-2", "reason": "account closed"}).Status)
			eventually(t, 30*time.Second, "needs_review", func() bool {
				return p.admin("GET", "/v1/admin/payouts/"+payoutID("reminded-needs-review-paid"), nil).Body["status"] == "needs_review"
			})
			require.Equal(t, http.StatusOK, p.confirm(payoutID("reminded-needs-review-paid"), nil, paid("rec-wire-3")).Status)
			record("PayoutCycleWorkflow", "manual-run", workflows.PayoutCycleWorkflowID("monthly", "2026-09"))
			for name, aff := range ids {
				record("PayoutWorkflow", name, workflows.PayoutWorkflowID(aff, "2026-09", "USD"))
			}
		},
	}
	only := os.Getenv("AFFRELAY_RECORD_SCENARIOS") // comma-separated names; all when empty
	for name, run := range scenarios {
		if only == "" || strings.Contains(","+only+",", ","+name+",") {
			t.Run(name, func(*testing.T) { run() })
		}
	}
}

// triggerSchedule runs the Schedule id once now (its first action) and returns the started workflow's id.
func triggerSchedule(t *testing.T, e *testEnv, id string) string {
	t.Helper()
	ctx := context.Background()
	h := e.app.Temporal.ScheduleClient().GetHandle(ctx, id)
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var runID string
	eventually(t, 30*time.Second, "the scheduled run of "+id, func() bool {
		d, err := h.Describe(ctx)
		if err == nil && len(d.Info.RecentActions) == 1 {
			runID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		}
		return runID != ""
	})
	return runID
}
