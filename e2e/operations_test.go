package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/webhook"
)

// queue reads GET /v1/admin/queue.
func (e *testEnv) queue() map[string]any {
	e.t.Helper()
	r := e.admin("GET", "/v1/admin/queue", nil)
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	return r.Body
}

func fastAlarms(c *config.Config) { c.Alert.CheckInterval = 200 * time.Millisecond }

// A dead receiver and 150 events: the queue climbs over its threshold and ops.queue_depth_exceeded goes out
// once; the receiver comes back, the queue drains, and ops.queue_depth_recovered goes out once.
func TestQueueDepthAlarmFiresOnceAndRecoversOnce(t *testing.T) {
	policy := retrypolicy.Policy{Schedule: []time.Duration{10 * time.Second}, MaxAttempts: 1000, Window: time.Hour, MaxRetryAfter: time.Second}
	forEachStore(t, policy, func(t *testing.T, e *testEnv) {
		ops := newWebhookReceiver(t, always(http.StatusOK))
		e.subscribe("webhook", ops.srv.URL, webhook.OpsQueueDepthExceeded, webhook.OpsQueueDepthRecovered)
		tracker := newSink(t, always(http.StatusServiceUnavailable))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		for i := range 150 {
			require.Equal(t, http.StatusOK, e.postback(key, ftd(fmt.Sprintf("evt-q-%03d", i), affiliateID)).Status)
		}
		eventually(t, time.Minute, "the alarm announced", func() bool { return len(ops.ofType(webhook.OpsQueueDepthExceeded)) == 1 })
		var q map[string]any
		eventually(t, time.Minute, "every delivery retrying", func() bool {
			q = e.queue()
			return q["by_state"].(map[string]any)["retrying"] == 150.0
		})
		require.EqualValues(t, 150, q["total"], q)
		target := q["by_target"].([]any)[0].(map[string]any)
		require.EqualValues(t, 150, target["total"])
		require.Equal(t, "postback", target["kind"])
		require.Equal(t, affiliateID, target["affiliate_id"])
		failing := q["top_failing"].([]any)[0].(map[string]any)
		require.EqualValues(t, 503, failing["last_status_code"])
		require.NotEmpty(t, failing["last_error"])
		require.NotNil(t, q["oldest_pending_at"])
		alert := data(t, ops.ofType(webhook.OpsQueueDepthExceeded)[0])
		require.Equal(t, "queue", alert["scope"])
		require.GreaterOrEqual(t, alert["depth"].(float64), 100.0)
		require.EqualValues(t, 100, alert["threshold"])
		require.Contains(t, e.logs.String(), "ALERT delivery queue depth at or over threshold")

		tracker.setStatus(always(http.StatusOK))
		eventually(t, time.Minute, "the queue drained", func() bool { return e.queue()["total"] == 0.0 })
		eventually(t, time.Minute, "the recovery announced", func() bool { return len(ops.ofType(webhook.OpsQueueDepthRecovered)) == 1 })
		require.Len(t, ops.ofType(webhook.OpsQueueDepthExceeded), 1, "one alert while the queue hovered over its threshold")
		q = e.queue()
		require.Empty(t, q["by_target"])
		require.Nil(t, q["oldest_pending_at"])
		require.Equal(t, false, q["alarms"].([]any)[0].(map[string]any)["firing"])
	}, fastAlarms)
}

// refire re-fires one delivery and checks the answer.
func (e *testEnv) refire(deliveryID, reason string) {
	e.t.Helper()
	r := e.admin("POST", "/v1/admin/deliveries/"+deliveryID+"/refire", map[string]any{"reason": reason})
	require.Equal(e.t, http.StatusAccepted, r.Status, r.Raw)
}

// Any delivery can be re-fired — delivered, skipped or in needs_review — as a new attempt series under the
// same delivery id and Idempotency-Key, with the reason stored.
func TestRefireAnyDelivery(t *testing.T) {
	forEachStore(t, shortPolicy(1), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, func(n int) int {
			if n == 1 {
				return http.StatusOK
			}
			return http.StatusBadGateway
		})
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-rf-ok", affiliateID)).Status)
		delivered, _ := e.deliveredAttempts("evt-rf-ok")
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-rf-review", affiliateID)).Status)
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-rf-skip", affiliateID)).Status)
		inState := func(eventID, state string) map[string]any {
			var d map[string]any
			eventually(t, 30*time.Second, eventID+" "+state, func() bool {
				ds := e.deliveries("event_id=" + eventID)
				if len(ds) == 1 && ds[0]["status"] == state {
					d = ds[0]
				}
				return d != nil
			})
			return d
		}
		review := inState("evt-rf-review", "needs_review")
		skip := inState("evt-rf-skip", "needs_review")
		require.Equal(t, http.StatusAccepted, e.admin("POST", "/v1/admin/deliveries/"+skip["id"].(string)+"/skip", nil).Status)
		inState("evt-rf-skip", "skipped")

		r := e.admin("POST", "/v1/admin/deliveries/"+delivered["id"].(string)+"/refire", map[string]any{})
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Contains(t, r.Raw, "reason")
		require.Equal(t, http.StatusNotFound, e.admin("POST", "/v1/admin/deliveries/dlv_missing/refire", map[string]any{"reason": "x"}).Status)

		tracker.setStatus(always(http.StatusOK))
		sent := len(tracker.received())
		e.refire(delivered["id"].(string), "affiliate says they lost it")
		e.refire(review["id"].(string), "receiver fixed")
		e.refire(skip["id"].(string), "skipped by mistake")
		for _, ev := range []string{"evt-rf-ok", "evt-rf-review", "evt-rf-skip"} {
			d := inState(ev, "delivered")
			require.Len(t, d["refires"], 1, ev)
			require.NotEmpty(t, d["refires"].([]any)[0].(map[string]any)["reason"])
		}
		got := tracker.received()
		require.Len(t, got, sent+3)
		keys := map[string]int{}
		for _, req := range got {
			keys[req.Header.Get("Idempotency-Key")]++
		}
		require.Equal(t, 2, keys[delivered["id"].(string)], "the re-fire carries the same Idempotency-Key")
		d := inState("evt-rf-ok", "delivered")
		require.Len(t, d["attempts"], 2, "attempt 2 of the same delivery")
		rf := d["refires"].([]any)[0].(map[string]any)
		require.Equal(t, "delivered", rf["previous_status"])
		require.Equal(t, "affiliate says they lost it", rf["reason"])
	})
}
