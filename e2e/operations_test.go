package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/eventplan"
	"github.com/affrelay/affrelay/opsalert"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/webhook"
	"github.com/affrelay/affrelay/workflows"
)

// queue reads GET /v1/admin/queue.
func (e *testEnv) queue() map[string]any {
	e.t.Helper()
	r := e.admin("GET", "/v1/admin/queue", nil)
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	return r.Body
}

func fastAlarms(c *config.Config) { c.Alert.CheckInterval = 200 * time.Millisecond }

// alarmEvents returns the received events of eventType about the alarm.
func alarmEvents(t *testing.T, r *webhookReceiver, eventType, alarm string) []map[string]any {
	var out []map[string]any
	for _, w := range r.ofType(eventType) {
		if d := data(t, w); d["alarm"] == alarm {
			out = append(out, d)
		}
	}
	return out
}

// refireJob polls a bulk re-fire job until it completed and returns its progress.
func (e *testEnv) refireJobDone(jobID string) map[string]any {
	e.t.Helper()
	var job map[string]any
	eventually(e.t, time.Minute, "re-fire job "+jobID+" completed", func() bool {
		r := e.admin("GET", "/v1/admin/deliveries/refire/"+jobID, nil)
		require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
		job = r.Body
		return job["state"] == "completed"
	})
	return job
}

// A dead receiver and 150 events: the queue climbs over its threshold and ops.queue_depth_exceeded goes out
// once (and once for the burst of needs_review); the receiver is fixed, a bulk re-fire sends them again, the
// queue drains to 0, and ops.queue_depth_recovered goes out once.
func TestDeadReceiverAlarmBulkRefireRecovery(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		ops := newWebhookReceiver(t, always(http.StatusOK))
		e.subscribe("webhook", ops.srv.URL, webhook.OpsQueueDepthExceeded, webhook.OpsQueueDepthRecovered)
		tracker := newSink(t, always(http.StatusServiceUnavailable))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		for i := range 150 {
			require.Equal(t, http.StatusOK, e.postback(key, ftd(fmt.Sprintf("evt-q-%03d", i), affiliateID)).Status)
		}
		eventually(t, time.Minute, "the queue alarm announced", func() bool {
			return len(alarmEvents(t, ops, webhook.OpsQueueDepthExceeded, "queue")) == 1
		})
		var q map[string]any
		eventually(t, time.Minute, "every delivery in needs_review", func() bool {
			q = e.queue()
			return q["by_state"].(map[string]any)["needs_review"] == 150.0
		})
		require.EqualValues(t, 150, q["total"], q)
		target := q["by_target"].([]any)[0].(map[string]any)
		require.EqualValues(t, 150, target["total"])
		require.Equal(t, "postback", target["kind"])
		require.Equal(t, affiliateID, target["affiliate_id"])
		failing := q["top_failing"].([]any)[0].(map[string]any)
		require.EqualValues(t, 503, failing["last_status_code"])
		require.NotEmpty(t, failing["last_error"])
		alert := alarmEvents(t, ops, webhook.OpsQueueDepthExceeded, "queue")[0]
		require.Equal(t, "queue", alert["scope"])
		require.GreaterOrEqual(t, alert["depth"].(float64), 100.0)
		require.EqualValues(t, 100, alert["threshold"])
		require.Contains(t, e.logs.String(), "ALERT delivery queue depth at or over threshold")
		eventually(t, time.Minute, "the needs_review burst announced", func() bool {
			return len(alarmEvents(t, ops, webhook.OpsQueueDepthExceeded, "needs_review_burst")) == 1
		})

		tracker.setStatus(always(http.StatusOK))
		endpointID := target["target_id"].(string)
		r := e.admin("POST", "/v1/admin/deliveries/refire", map[string]any{
			"status": "needs_review", "endpoint_id": endpointID, "reason": "tracker fixed", "rate_per_second": 50,
		})
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		require.EqualValues(t, 150, r.Body["count"])
		job := e.refireJobDone(r.Body["job_id"].(string))
		require.EqualValues(t, 150, job["total"])
		require.EqualValues(t, 150, job["refired"], job)
		require.EqualValues(t, 0, job["passed"], job)

		eventually(t, time.Minute, "the queue drained", func() bool { return e.queue()["total"] == 0.0 })
		eventually(t, time.Minute, "the recoveries announced", func() bool {
			return len(alarmEvents(t, ops, webhook.OpsQueueDepthRecovered, "queue")) == 1 &&
				len(alarmEvents(t, ops, webhook.OpsQueueDepthRecovered, "needs_review_burst")) == 1
		})
		require.Len(t, alarmEvents(t, ops, webhook.OpsQueueDepthExceeded, "queue"), 1, "one alert for the whole episode")
		q = e.queue()
		require.Empty(t, q["by_target"])
		require.Nil(t, q["oldest_pending_at"])
		for _, a := range q["alarms"].([]any) {
			require.Equal(t, false, a.(map[string]any)["firing"], a)
		}
		d := e.deliveries("event_id=evt-q-042")[0]
		require.Equal(t, "delivered", d["status"])
		require.Equal(t, r.Body["job_id"], d["refires"].([]any)[0].(map[string]any)["job_id"])
		require.Len(t, tracker.received(), 150*3, "two failed attempts and the re-fire, each")
	}, fastAlarms, func(c *config.Config) {
		// Here every delivery ends in needs_review; auto-disabling the endpoint would hold the rest instead.
		c.Delivery.AutoDisableAfter = 1000
	})
}

// A bulk re-fire's bad input changes nothing: an unbounded filter needs "all":true; a filter that matches
// nothing answers 200 with count 0 and starts no job.
func TestBulkRefireFilters(t *testing.T) {
	forEachStore(t, shortPolicy(1), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusOK))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-bulk-1", affiliateID)).Status)
		e.deliveredAttempts("evt-bulk-1")
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"reason": "x"}, "all"},
			{map[string]any{"reason": "x", "affiliate_id": affiliateID}, "all"},
			{map[string]any{"status": "delivered"}, "reason"},
			{map[string]any{"reason": "x", "status": "pending"}, "status"},
			{map[string]any{"reason": "x", "from": "yesterday"}, "from"},
			{map[string]any{"reason": "x", "from": "2026-11-30T00:00:00Z", "to": "2026-11-29T00:00:00Z"}, "to"},
			{map[string]any{"reason": "x", "all": true, "endpoint_id": "pbe_a", "subscription_id": "whs_b"}, "subscription_id"},
			{map[string]any{"reason": "x", "all": true, "rate_per_second": 5000}, "rate_per_second"},
			{map[string]any{"reason": "x", "event_ids": []string{""}}, "event_ids"},
		} {
			r := e.admin("POST", "/v1/admin/deliveries/refire", c.body)
			require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			require.Contains(t, r.Raw, c.field, c.body)
		}
		r := e.admin("POST", "/v1/admin/deliveries/refire", map[string]any{"reason": "x", "status": "skipped"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.EqualValues(t, 0, r.Body["count"])
		require.Nil(t, r.Body["job_id"])
		require.Equal(t, http.StatusNotFound, e.admin("GET", "/v1/admin/deliveries/refire/rfj_missing", nil).Status)
		require.Len(t, tracker.received(), 1, "nothing re-fired")

		// By event id, every delivery of the event is re-fired, at once.
		r = e.admin("POST", "/v1/admin/deliveries/refire", map[string]any{"reason": "lost", "event_ids": []string{"evt-bulk-1", "evt-none"}})
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		require.EqualValues(t, 1, r.Body["count"])
		job := e.refireJobDone(r.Body["job_id"].(string))
		require.EqualValues(t, 1, job["refired"])
		require.Equal(t, []any{"evt-bulk-1", "evt-none"}, job["filter"].(map[string]any)["event_ids"])
		eventually(t, 30*time.Second, "re-fired", func() bool { return len(tracker.received()) == 2 })
	})
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
		// Each one's re-fire is its attempt 2. (A delivered one reads "delivered" until its new run sets it
		// pending, so its state alone does not say that the re-fire was sent.)
		for _, ev := range []string{"evt-rf-ok", "evt-rf-review", "evt-rf-skip"} {
			var d map[string]any
			eventually(t, 30*time.Second, ev+" delivered by its re-fire", func() bool {
				d = e.deliveries("event_id=" + ev)[0]
				return d["status"] == "delivered" && len(d["attempts"].([]any)) == 2
			})
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

// endpointOf returns the id of the affiliate's one postback endpoint.
func (e *testEnv) endpointOf(affiliateID, eventID string) string {
	e.t.Helper()
	var id string
	eventually(e.t, 30*time.Second, "the delivery of "+eventID, func() bool {
		if ds := e.deliveries("event_id=" + eventID); len(ds) == 1 {
			id = ds[0]["endpoint_id"].(string)
		}
		return id != ""
	})
	return id
}

// While an endpoint is disabled its deliveries are held, not lost: re-enabling it sends them (by default) or
// discards them with a reason. An endpoint whose deliveries keep ending in needs_review is disabled and
// announced by endpoint.disabled.
func TestHeldWhileDisabledSentOrDiscardedOnReenable(t *testing.T) {
	forEachStore(t, shortPolicy(1), func(t *testing.T, e *testEnv) {
		ops := newWebhookReceiver(t, always(http.StatusOK))
		e.subscribe("webhook", ops.srv.URL, webhook.EndpointDisabled)
		tracker := newSink(t, always(http.StatusOK))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-h-0", affiliateID)).Status)
		e.deliveredAttempts("evt-h-0")
		endpoint := "/v1/admin/affiliates/" + affiliateID + "/postback-endpoints/" + e.endpointOf(affiliateID, "evt-h-0")

		r := e.admin("PATCH", endpoint, map[string]any{"enabled": false, "held": "send"})
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, http.StatusOK, e.admin("PATCH", endpoint, map[string]any{"enabled": false}).Status)
		for i := 1; i <= 3; i++ {
			require.Equal(t, http.StatusOK, e.postback(key, ftd(fmt.Sprintf("evt-h-%d", i), affiliateID)).Status)
		}
		eventually(t, 30*time.Second, "three held", func() bool { return len(e.deliveries("status=held")) == 3 })
		require.EqualValues(t, 3, e.queue()["by_state"].(map[string]any)["held"])
		require.Len(t, tracker.received(), 1, "nothing sent while disabled")

		r = e.admin("PATCH", endpoint, map[string]any{"enabled": true, "held": "later"})
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		r = e.admin("PATCH", endpoint, map[string]any{"enabled": true})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, true, r.Body["enabled"])
		held := r.Body["held"].(map[string]any)
		require.Equal(t, "send", held["action"])
		require.EqualValues(t, 3, held["count"])
		e.refireJobDone(held["job_id"].(string))
		eventually(t, 30*time.Second, "the held ones delivered", func() bool { return len(tracker.received()) == 4 })
		for i := 1; i <= 3; i++ {
			d := e.deliveries(fmt.Sprintf("event_id=evt-h-%d", i))[0]
			require.Equal(t, "delivered", d["status"])
			require.Equal(t, "held", d["refires"].([]any)[0].(map[string]any)["previous_status"])
		}

		// Disabled again; this time the held ones are discarded, with the reason.
		require.Equal(t, http.StatusOK, e.admin("PATCH", endpoint, map[string]any{"enabled": false}).Status)
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-h-4", affiliateID)).Status)
		eventually(t, 30*time.Second, "held", func() bool { return len(e.deliveries("status=held")) == 1 })
		require.Equal(t, http.StatusBadRequest, e.admin("PATCH", endpoint, map[string]any{"enabled": true, "held": "discard"}).Status, "a discard needs a reason")
		r = e.admin("PATCH", endpoint, map[string]any{"enabled": true, "held": "discard", "reason": "affiliate asked for no backfill"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.EqualValues(t, 1, r.Body["held"].(map[string]any)["count"])
		d := e.deliveries("event_id=evt-h-4")[0]
		require.Equal(t, "skipped", d["status"])
		require.Contains(t, d["status_reason"], "affiliate asked for no backfill")
		require.Len(t, tracker.received(), 4)

		// Two deliveries in a row in needs_review disable the endpoint (delivery.auto_disable_after 2).
		tracker.setStatus(always(http.StatusInternalServerError))
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-h-5", affiliateID)).Status)
		eventually(t, 30*time.Second, "in review", func() bool { return len(e.deliveries("status=needs_review")) == 1 })
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-h-6", affiliateID)).Status)
		eventually(t, 30*time.Second, "endpoint.disabled", func() bool { return len(ops.ofType(webhook.EndpointDisabled)) == 1 })
		off := data(t, ops.ofType(webhook.EndpointDisabled)[0])
		require.Equal(t, "postback", off["kind"])
		require.Equal(t, affiliateID, off["affiliate_id"])
		require.Equal(t, "disabled after 2 deliveries in a row needed review", off["reason"])
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-h-7", affiliateID)).Status)
		eventually(t, 30*time.Second, "held after the auto-disable", func() bool {
			ds := e.deliveries("event_id=evt-h-7")
			return len(ds) == 1 && ds[0]["status"] == "held"
		})
	}, func(c *config.Config) { c.Delivery.AutoDisableAfter = 2 })
}

// The look-ups and listings an operator needs: a conversion by integration and event id, integrations and
// postback endpoints page by page with time filters, and deleting an endpoint.
func TestOperatorLookupsAndListings(t *testing.T) {
	forEachStore(t, shortPolicy(1000), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusOK))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		e.setup(tracker.srv.URL)
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-look", affiliateID)).Status)
		e.deliveredAttempts("evt-look")

		r := e.admin("GET", "/v1/admin/conversions/"+integrationID+"/evt-look", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, affiliateID, r.Body["affiliate_id"])
		require.Equal(t, "ftd", r.Body["event"])
		require.Equal(t, "delivered", r.Body["deliveries"].([]any)[0].(map[string]any)["status"])
		require.Equal(t, http.StatusNotFound, e.admin("GET", "/v1/admin/conversions/"+integrationID+"/evt-none", nil).Status)

		page1 := e.admin("GET", "/v1/admin/integrations?limit=1", nil)
		require.Equal(t, http.StatusOK, page1.Status, page1.Raw)
		require.Len(t, page1.Body["integrations"], 1)
		page2 := e.admin("GET", "/v1/admin/integrations?limit=1&after="+page1.Body["next_after"].(string), nil)
		require.Len(t, page2.Body["integrations"], 1)
		require.NotEqual(t, page1.Body["integrations"], page2.Body["integrations"])
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		require.Empty(t, e.listing("/v1/admin/integrations?from="+future, "integrations"))
		require.Len(t, e.listing("/v1/admin/integrations?to="+future, "integrations"), 2)
		require.Equal(t, http.StatusBadRequest, e.admin("GET", "/v1/admin/integrations?from=yesterday", nil).Status)

		eps := e.listing("/v1/admin/postback-endpoints?affiliate_id="+affiliateID, "postback_endpoints")
		require.Len(t, eps, 1)
		require.Len(t, e.listing("/v1/admin/postback-endpoints", "postback_endpoints"), 2)
		endpoint := "/v1/admin/affiliates/" + affiliateID + "/postback-endpoints/" + eps[0]["id"].(string)

		// Deleting the endpoint: a delivery retrying for it goes to needs_review at its next attempt.
		tracker.setStatus(always(http.StatusServiceUnavailable))
		require.Equal(t, http.StatusOK, e.postback(key, ftd("evt-look-2", affiliateID)).Status)
		eventually(t, 30*time.Second, "retrying", func() bool {
			ds := e.deliveries("event_id=evt-look-2")
			return len(ds) == 1 && len(ds[0]["attempts"].([]any)) >= 1
		})
		r = e.admin("DELETE", endpoint, nil)
		require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
		require.Equal(t, http.StatusNotFound, e.admin("DELETE", endpoint, nil).Status)
		eventually(t, 30*time.Second, "needs_review after the delete", func() bool {
			ds := e.deliveries("event_id=evt-look-2")
			return len(ds) == 1 && ds[0]["status"] == "needs_review"
		})
		require.Len(t, e.listing("/v1/admin/postback-endpoints?affiliate_id="+affiliateID, "postback_endpoints"), 0)
	})
}

// hangingReceiver holds every request open until the sender gives up, counting the most it had open at once.
type hangingReceiver struct {
	srv           *httptest.Server
	mu            sync.Mutex
	open, maxOpen int
	total         int
}

func newHangingReceiver(t *testing.T) *hangingReceiver {
	h := &hangingReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.open++
		h.total++
		h.maxOpen = max(h.maxOpen, h.open)
		h.mu.Unlock()
		<-r.Context().Done()
		h.mu.Lock()
		h.open--
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hangingReceiver) stats() (maxOpen, total int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.maxOpen, h.total
}

// A receiver that hangs with 500 deliveries pending holds at most its in-flight limit of connections, and a
// healthy receiver beside it gets every one of its deliveries meanwhile.
func TestHangingReceiverWith500PendingDoesNotDelayAHealthyOne(t *testing.T) {
	policy := retrypolicy.Policy{Schedule: []time.Duration{30 * time.Second}, MaxAttempts: 100, Window: time.Hour, MaxRetryAfter: time.Second}
	forEachStore(t, policy, func(t *testing.T, e *testEnv) {
		hanging := newHangingReceiver(t)
		healthy := newSink(t, always(http.StatusOK))
		key, integrationID, slowAffiliate := e.setup(hanging.srv.URL)
		r := e.admin("POST", "/v1/admin/affiliates", map[string]any{
			"name": "Healthy", "plan": map[string]any{"type": "cpa", "amount": "10.00", "currency": "USD"},
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		healthyAffiliate := r.Body["id"].(string)
		r = e.admin("POST", "/v1/admin/affiliates/"+healthyAffiliate+"/postback-endpoints", map[string]any{
			"url": healthy.srv.URL + "/pb?tx={transaction_id}", "method": "GET", "events": []string{"ftd"},
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)

		for i := range 500 {
			require.Equal(t, http.StatusOK, e.postback(key, ftd(fmt.Sprintf("evt-slow-%03d", i), slowAffiliate)).Status)
		}
		for i := range 20 {
			require.Equal(t, http.StatusOK, e.postback(key, ftd(fmt.Sprintf("evt-healthy-%02d", i), healthyAffiliate)).Status)
		}
		eventually(t, time.Minute, "the healthy receiver got all 20", func() bool { return len(healthy.received()) == 20 })
		var slowPending float64
		for _, target := range e.queue()["by_target"].([]any) {
			if tg := target.(map[string]any); tg["affiliate_id"] == slowAffiliate {
				slowPending = tg["total"].(float64)
			}
		}
		require.EqualValues(t, 500, slowPending, "the hanging receiver's deliveries are all still pending")
		maxOpen, total := hanging.stats()
		// The sender frees a slot when it gives up on a request; the receiver sees that connection close a moment
		// later, so it may count one more than the limit. Without the limit it would hold hundreds.
		require.LessOrEqual(t, maxOpen, 5+1, "never more than its in-flight limit open at once")
		require.Positive(t, total)
		t.Logf("hanging receiver: %d requests, at most %d open at once; integration %s", total, maxOpen, integrationID)
	}, func(c *config.Config) { c.Delivery.TargetMaxInFlight = 5 })
}

// A postback endpoint's own in-flight limit, below the default, holds: a hanging receiver never has more than
// that many requests open. Limits out of range are refused naming the field, and a subscription keeps its own.
func TestEndpointOwnLimitOverridesTheDefault(t *testing.T) {
	policy := retrypolicy.Policy{Schedule: []time.Duration{30 * time.Second}, MaxAttempts: 100, Window: time.Hour, MaxRetryAfter: time.Second}
	forEachStore(t, policy, func(t *testing.T, e *testEnv) {
		hanging := newHangingReceiver(t)
		key, _, affiliateID := e.setup(hanging.srv.URL)
		endpointID := e.listing("/v1/admin/postback-endpoints?affiliate_id="+affiliateID, "postback_endpoints")[0]["id"].(string)
		path := "/v1/admin/affiliates/" + affiliateID + "/postback-endpoints/" + endpointID
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"max_in_flight": 1001}, "max_in_flight"},
			{map[string]any{"max_in_flight": -1}, "max_in_flight"},
			{map[string]any{"max_rps": 10001}, "max_rps"},
			{map[string]any{"max_rps": -0.5}, "max_rps"},
			{map[string]any{"max_in_flight": "3"}, "max_in_flight"},
			{map[string]any{}, "enabled"},
		} {
			r := e.admin("PATCH", path, c.body)
			require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			require.Equal(t, c.field, r.Body["error"].(map[string]any)["field"], r.Raw)
		}
		r := e.admin("POST", "/v1/admin/affiliates/"+affiliateID+"/postback-endpoints", map[string]any{
			"url": hanging.srv.URL + "/other", "events": []string{"ftd"}, "max_rps": 20000,
		})
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, "max_rps", r.Body["error"].(map[string]any)["field"], r.Raw)

		r = e.admin("PATCH", path, map[string]any{"max_in_flight": 3, "max_rps": 100})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.EqualValues(t, 3, r.Body["max_in_flight"])
		require.EqualValues(t, 100, r.Body["max_rps"])
		require.Equal(t, true, r.Body["enabled"])
		listed := e.listing("/v1/admin/postback-endpoints?affiliate_id="+affiliateID, "postback_endpoints")[0]
		require.EqualValues(t, 3, listed["max_in_flight"])

		for i := range 30 {
			require.Equal(t, http.StatusOK, e.postback(key, ftd(fmt.Sprintf("evt-own-%02d", i), affiliateID)).Status)
		}
		eventually(t, time.Minute, "the hanging receiver was tried in several rounds", func() bool {
			_, total := hanging.stats()
			return total >= 12
		})
		maxOpen, total := hanging.stats()
		// As in the 500-pending test, the receiver may see one more open than the sender holds.
		require.LessOrEqual(t, maxOpen, 3+1, "never more than the endpoint's own limit open at once (the default is 50)")
		t.Logf("hanging receiver with its own limit of 3: %d requests, at most %d open at once", total, maxOpen)

		whID, _ := e.subscribe("webhook", hanging.srv.URL+"/wh", webhook.OpsQueueDepthExceeded)
		r = e.admin("PATCH", "/v1/admin/webhooks/"+whID, map[string]any{"max_in_flight": 2000})
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, "max_in_flight", r.Body["error"].(map[string]any)["field"], r.Raw)
		r = e.admin("PATCH", "/v1/admin/webhooks/"+whID, map[string]any{"max_in_flight": 4, "secret_max_age_days": 30})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		r = e.admin("GET", "/v1/admin/webhooks/"+whID, nil)
		require.EqualValues(t, 4, r.Body["max_in_flight"], r.Raw)
		require.EqualValues(t, 30, r.Body["secret_max_age_days"], r.Raw)
		require.Nil(t, r.Body["max_rps"], "no own rate: the default")
	})
}

// An announcement whose deliveries were planned but whose workflows were never started (the start failed and
// the process died) is delivered by the queue check's sweep.
func TestAnnouncementSweepStartsUnstartedDeliveries(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		ops := newWebhookReceiver(t, always(http.StatusOK))
		e.subscribe("webhook", ops.srv.URL, webhook.OpsQueueDepthExceeded)
		alarm := opsalert.Transition{Reading: opsalert.Reading{
			Alarm: opsalert.Alarm{Key: "drill", Scope: opsalert.ScopeQueue, Threshold: 100, RecoverAt: 80}, Depth: 120,
		}, Firing: true}
		// Planned as QueueWatch plans it, in the database only: no workflow is started here.
		pending, err := store.PlanWebhookEvent(e.app.Store.DB, eventplan.QueueAlarm(alarm, 1, time.Now().UTC()))
		require.NoError(t, err)
		require.Len(t, pending, 1)
		eventually(t, time.Minute, "the unstarted announcement delivered", func() bool {
			return len(alarmEvents(t, ops, webhook.OpsQueueDepthExceeded, "drill")) == 1
		})
		require.True(t, e.workflowExists(workflows.DeliveryWorkflowID(pending[0].ID)))
		eventually(t, time.Minute, "the delivery stored as delivered", func() bool {
			return e.count(&store.Delivery{}, "id = ? AND status = ?", pending[0].ID, store.DeliveryDelivered) == 1
		})
		require.Contains(t, e.logs.String(), "started announcement deliveries left unstarted")
	}, fastAlarms)
}
