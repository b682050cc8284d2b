package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

func ftd(eventID, affiliateID string) url.Values {
	return url.Values{
		"event_id": {eventID}, "event": {"ftd"}, "affiliate_id": {affiliateID}, "player_id": {"player-" + eventID},
		"click_id": {"clk/" + eventID}, "amount": {"50.00"}, "currency": {"EUR"}, "sub1": {"spring sale&more"},
	}
}

func TestPostbackAcceptedRecordedAndDelivered(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)

		r := e.postback(key, ftd("evt-1", affiliateID))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		wfID := "conversion:" + integrationID + ":evt-1"
		require.Equal(t, map[string]any{"status": "accepted", "event_id": "evt-1", "workflow_id": wfID}, r.Body)
		// The ack came after Temporal durably accepted the start.
		require.True(t, e.workflowExists(wfID))

		eventually(t, 20*time.Second, "the outbound postback", func() bool { return len(tracker.received()) == 1 })
		got := tracker.received()[0]
		require.Equal(t, "/pb", got.URL.Path)
		q := got.URL.Query()
		require.Equal(t, "clk/evt-1", q.Get("cid"))
		require.Equal(t, "ftd", q.Get("e"))
		require.Equal(t, "evt-1", q.Get("tx"))
		require.Equal(t, "200.00", q.Get("p"))
		require.Equal(t, "USD", q.Get("cur"))
		require.Equal(t, "spring sale&more", q.Get("s1"))
		require.Equal(t, "50.00", q.Get("amt"))
		require.Contains(t, got.URL.RawQuery, "s1=spring+sale%26more", "macro values are URL-encoded")
		require.True(t, strings.HasPrefix(got.Header.Get("Idempotency-Key"), "dlv_"))

		eventually(t, 10*time.Second, "delivered state", func() bool {
			ds := e.deliveries("event_id=evt-1")
			return len(ds) == 1 && ds[0]["status"] == "delivered"
		})
		d := e.deliveries("event_id=evt-1&affiliate_id=" + affiliateID + "&status=delivered")[0]
		attempts := d["attempts"].([]any)
		require.Len(t, attempts, 1)
		require.EqualValues(t, 200, attempts[0].(map[string]any)["status_code"])
		require.Contains(t, attempts[0].(map[string]any)["response_body"], "answer 200")

		bal := e.admin("GET", "/v1/admin/affiliates/"+affiliateID+"/balance", nil)
		require.Equal(t, http.StatusOK, bal.Status)
		require.Equal(t, []any{map[string]any{"currency": "USD", "amount": "200.00", "pending": "0.00", "approved": "200.00", "on_hold": "0.00", "paid": "0.00"}}, bal.Body["balances"])

		// A form POST and a JSON POST are accepted the same way; a deposit earns no CPA but is still delivered.
		form := e.do("POST", "/v1/postbacks", map[string]string{"X-API-Key": key, "Content-Type": "application/x-www-form-urlencoded"},
			strings.NewReader("event_id=evt-2&event=deposit&affiliate_id="+affiliateID+"&amount=10&currency=USD"))
		require.Equal(t, "accepted", form.Body["status"], form.Raw)
		js := e.do("POST", "/v1/postbacks", map[string]string{"X-API-Key": key, "Content-Type": "application/json"},
			strings.NewReader(`{"event_id":"evt-3","event":"registration","affiliate_id":"`+affiliateID+`","occurred_at":"2026-01-02T03:04:05+02:00"}`))
		require.Equal(t, "accepted", js.Body["status"], js.Raw)
		eventually(t, 20*time.Second, "the deposit postback", func() bool { return len(tracker.received()) == 2 })
		eventually(t, 10*time.Second, "the registration recorded", func() bool {
			return e.count(&store.Conversion{}, "event_id = ?", "evt-3") == 1
		})
		var reg store.Conversion
		require.NoError(t, e.app.Store.DB.Where("event_id = ?", "evt-3").Take(&reg).Error)
		require.Equal(t, time.Date(2026, 1, 2, 1, 4, 5, 0, time.UTC), reg.OccurredAt.UTC())
		require.EqualValues(t, 1, e.count(&store.LedgerEntry{}, "affiliate_id = ?", affiliateID), "only the ftd earns")
	})
}

func TestFiftyConcurrentCopiesRecordOnce(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, _, affiliateID := e.setup(tracker.srv.URL)

		const copies = 50
		statuses := make(chan string, copies)
		var wg sync.WaitGroup
		for range copies {
			wg.Go(func() {
				r := e.postback(key, ftd("evt-dup", affiliateID))
				if r.Status != http.StatusOK {
					statuses <- r.Raw
					return
				}
				statuses <- r.Body["status"].(string)
			})
		}
		wg.Wait()
		close(statuses)
		counts := map[string]int{}
		for s := range statuses {
			counts[s]++
		}
		require.Equal(t, map[string]int{"accepted": 1, "duplicate": copies - 1}, counts)

		eventually(t, 20*time.Second, "the delivery", func() bool { return len(tracker.received()) >= 1 })
		eventually(t, 10*time.Second, "delivered state", func() bool {
			return e.count(&store.Delivery{}, "event_id = ? AND status = ?", "evt-dup", "delivered") == 1
		})
		// Let anything that would wrongly happen twice have its chance.
		time.Sleep(2 * time.Second)
		require.Len(t, tracker.received(), 1)
		require.EqualValues(t, 1, e.count(&store.Conversion{}, "event_id = ?", "evt-dup"))
		require.EqualValues(t, 1, e.count(&store.LedgerEntry{}, "affiliate_id = ?", affiliateID))
		require.EqualValues(t, 1, e.count(&store.Delivery{}, "event_id = ?", "evt-dup"))
		require.EqualValues(t, 1, e.count(&store.DeliveryAttempt{}, "1 = 1"))

		// An event recorded long ago, whose workflow Temporal's retention has dropped: the database still knows it.
		integrationID := e.integrationOf(key)
		old := store.Conversion{ID: store.NewID("cnv"), IntegrationID: integrationID, EventID: "evt-last-month", Event: "ftd", OccurredAt: time.Now().AddDate(0, -1, 0)}
		require.NoError(t, e.app.Store.DB.Create(&old).Error)
		r := e.postback(key, ftd("evt-last-month", affiliateID))
		require.Equal(t, "duplicate", r.Body["status"], r.Raw)
		require.False(t, e.workflowExists(workflows.ConversionWorkflowID(integrationID, "evt-last-month")))
		require.EqualValues(t, 1, e.count(&store.LedgerEntry{}, "affiliate_id = ?", affiliateID))
	})
}

func TestFailingTrackerIsRetriedThenDelivered(t *testing.T) {
	forEachStore(t, shortPolicy(5), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, func(n int) int {
			if n <= 2 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, "accepted", e.postback(key, ftd("evt-retry", affiliateID)).Body["status"])

		eventually(t, 30*time.Second, "delivered after two failures", func() bool {
			ds := e.deliveries("event_id=evt-retry")
			return len(ds) == 1 && ds[0]["status"] == "delivered"
		})
		attempts := e.deliveries("event_id=evt-retry")[0]["attempts"].([]any)
		require.Len(t, attempts, 3)
		for i, want := range []float64{503, 503, 200} {
			a := attempts[i].(map[string]any)
			require.EqualValues(t, i+1, a["number"])
			require.Equal(t, want, a["status_code"])
		}
		require.Equal(t, "HTTP 503", attempts[0].(map[string]any)["error"])
		require.Len(t, tracker.received(), 3)
		// Every retry carries the same idempotency key.
		for _, r := range tracker.received() {
			require.Equal(t, tracker.received()[0].Header.Get("Idempotency-Key"), r.Header.Get("Idempotency-Key"))
		}
	})
}

func TestExhaustedDeliveryNeedsReviewThenReplayDelivers(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusInternalServerError))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, "accepted", e.postback(key, ftd("evt-review", affiliateID)).Body["status"])

		eventually(t, 30*time.Second, "needs_review", func() bool {
			ds := e.deliveries("event_id=evt-review&status=needs_review")
			return len(ds) == 1
		})
		d := e.deliveries("event_id=evt-review")[0]
		require.Len(t, d["attempts"].([]any), 3)
		require.Contains(t, d["status_reason"], "HTTP 500")
		id := d["id"].(string)
		// Ops find it in Temporal by its search attribute.
		eventually(t, 15*time.Second, "the DeliveryState search attribute", func() bool {
			desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), workflows.DeliveryWorkflowID(id), "")
			if err != nil {
				return false
			}
			return strings.Contains(desc.WorkflowExecutionInfo.SearchAttributes.String(), "needs_review")
		})

		// The queue-depth gauge that ops alert on counts it.
		require.Contains(t, e.do("GET", "/metrics", nil, nil).Raw, `affrelay_delivery_queue_depth{state="needs_review"} 1`)
		require.Contains(t, e.do("GET", "/metrics", nil, nil).Raw, `affrelay_postbacks_total{outcome="accepted"} 1`)

		tracker.setStatus(always(http.StatusOK))
		r := e.admin("POST", "/v1/admin/deliveries/"+id+"/replay", nil)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		eventually(t, 20*time.Second, "delivered after replay", func() bool {
			ds := e.deliveries("event_id=evt-review")
			return ds[0]["status"] == "delivered"
		})
		require.Len(t, e.deliveries("event_id=evt-review")[0]["attempts"].([]any), 4)
		require.Len(t, tracker.received(), 4)
		require.Contains(t, e.do("GET", "/metrics", nil, nil).Raw, `affrelay_delivery_queue_depth{state="needs_review"} 0`)

		// A delivered delivery cannot be replayed or skipped; an unknown one is 404.
		require.Equal(t, http.StatusConflict, e.admin("POST", "/v1/admin/deliveries/"+id+"/replay", nil).Status)
		require.Equal(t, http.StatusConflict, e.admin("POST", "/v1/admin/deliveries/"+id+"/skip", nil).Status)
		require.Equal(t, http.StatusNotFound, e.admin("POST", "/v1/admin/deliveries/dlv_nope/replay", nil).Status)
		// /redeliver is the new name of /replay.
		require.Equal(t, http.StatusConflict, e.admin("POST", "/v1/admin/deliveries/"+id+"/redeliver", nil).Status)
		require.Equal(t, http.StatusNotFound, e.admin("POST", "/v1/admin/deliveries/dlv_nope/redeliver", nil).Status)
	})
}

func TestSkipAndGoneEndpoint(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusNotFound))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, "accepted", e.postback(key, ftd("evt-404", affiliateID)).Body["status"])
		eventually(t, 20*time.Second, "needs_review after a permanent 404", func() bool {
			return len(e.deliveries("event_id=evt-404&status=needs_review")) == 1
		})
		d := e.deliveries("event_id=evt-404")[0]
		require.Len(t, d["attempts"].([]any), 1, "a 404 is not retried")
		require.Equal(t, http.StatusAccepted, e.admin("POST", "/v1/admin/deliveries/"+d["id"].(string)+"/skip", nil).Status)
		eventually(t, 10*time.Second, "skipped", func() bool { return e.deliveries("event_id=evt-404")[0]["status"] == "skipped" })

		// 410 Gone disables the endpoint: later events' deliveries are held until it is enabled again.
		tracker.setStatus(always(http.StatusGone))
		require.Equal(t, "accepted", e.postback(key, ftd("evt-410", affiliateID)).Body["status"])
		eventually(t, 20*time.Second, "needs_review after 410", func() bool {
			return len(e.deliveries("event_id=evt-410&status=needs_review")) == 1
		})
		var ep store.PostbackEndpoint
		require.NoError(t, e.app.Store.DB.Where("affiliate_id = ?", affiliateID).Take(&ep).Error)
		require.False(t, ep.Enabled)
		require.Contains(t, ep.DisabledReason, "410")
		require.Equal(t, "accepted", e.postback(key, ftd("evt-after-410", affiliateID)).Body["status"])
		eventually(t, 10*time.Second, "the later event recorded", func() bool {
			return e.count(&store.Conversion{}, "event_id = ?", "evt-after-410") == 1
		})
		require.EqualValues(t, 1, e.count(&store.Delivery{}, "event_id = ? AND status = ?", "evt-after-410", store.DeliveryHeld))
	})
}

func TestBadInputChangesNothing(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		good := ftd("evt-bad", affiliateID)
		with := func(k, v string) url.Values {
			q := url.Values{}
			for kk, vv := range good {
				q[kk] = append([]string(nil), vv...)
			}
			if v == "" {
				q.Del(k)
			} else {
				q.Set(k, v)
			}
			return q
		}
		cases := []struct {
			name   string
			query  url.Values
			field  string
			status int
		}{
			{"no event id", with("event_id", ""), "event_id", 400},
			{"long event id", with("event_id", strings.Repeat("x", 129)), "event_id", 400},
			{"unknown event", with("event", "purchase"), "event", 400},
			{"float amount", with("amount", "1e3"), "amount", 400},
			{"too many decimals", with("amount", "50.001"), "amount", 400},
			{"negative ftd", with("amount", "-5.00"), "amount", 400},
			{"bad currency", with("currency", "usd"), "currency", 400},
			{"bad time", with("occurred_at", "yesterday"), "occurred_at", 400},
			{"future time", with("occurred_at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), "occurred_at", 400},
		}
		for _, c := range cases {
			r := e.postback(key, c.query)
			require.Equal(t, c.status, r.Status, c.name+": "+r.Raw)
			errBody := r.Body["error"].(map[string]any)
			require.Equal(t, "invalid_field", errBody["code"], c.name)
			require.Equal(t, c.field, errBody["field"], c.name)
			require.NotEmpty(t, errBody["message"], c.name)
		}
		// Twice the same field, in query and body.
		r := e.do("POST", "/v1/postbacks?event_id=evt-bad", map[string]string{"X-API-Key": key, "Content-Type": "application/json"},
			strings.NewReader(`{"event_id":"evt-bad","event":"registration"}`))
		require.Equal(t, 400, r.Status, r.Raw)
		require.Equal(t, "event_id", r.Body["error"].(map[string]any)["field"])

		for name, req := range map[string]struct {
			header map[string]string
			body   string
			status int
			code   string
		}{
			"no key":         {map[string]string{}, "", 401, "unauthorized"},
			"wrong key":      {map[string]string{"X-API-Key": key + "x"}, "", 401, "unauthorized"},
			"bad json":       {map[string]string{"X-API-Key": key, "Content-Type": "application/json"}, `{"event_id":`, 400, "malformed_body"},
			"nested json":    {map[string]string{"X-API-Key": key, "Content-Type": "application/json"}, `{"event_id":{"a":1}}`, 400, "invalid_field"},
			"xml":            {map[string]string{"X-API-Key": key, "Content-Type": "application/xml"}, `<x/>`, 415, "unsupported_media_type"},
			"oversized body": {map[string]string{"X-API-Key": key, "Content-Type": "application/json"}, `{"sub1":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "body_too_large"},
		} {
			method := "POST"
			if req.body == "" {
				method = "GET"
			}
			r := e.do(method, "/v1/postbacks?"+good.Encode(), req.header, strings.NewReader(req.body))
			if req.body != "" {
				r = e.do(method, "/v1/postbacks", req.header, strings.NewReader(req.body))
			}
			require.Equal(t, req.status, r.Status, name+": "+r.Raw)
			require.Equal(t, req.code, r.Body["error"].(map[string]any)["code"], name)
		}

		// Admin API: no token, wrong token, bad JSON, unknown ids.
		require.Equal(t, 401, e.do("GET", "/v1/admin/deliveries", nil, nil).Status)
		require.Equal(t, 401, e.do("GET", "/v1/admin/deliveries", map[string]string{"Authorization": "Bearer " + adminToken + "x"}, nil).Status)
		require.Equal(t, 400, e.do("POST", "/v1/admin/integrations", map[string]string{"Authorization": "Bearer " + adminToken}, strings.NewReader("{")).Status)
		require.Equal(t, 400, e.admin("POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "cpa", "amount": "1.5e2", "currency": "USD"}}).Status)
		require.Equal(t, 400, e.admin("POST", "/v1/admin/affiliates/"+affiliateID+"/postback-endpoints", map[string]any{"url": "ftp://x/{click_id}", "events": []string{"ftd"}}).Status)
		require.Equal(t, 400, e.admin("POST", "/v1/admin/affiliates/"+affiliateID+"/postback-endpoints", map[string]any{"url": "https://x.example/?c={clickid}", "events": []string{"ftd"}}).Status)
		require.Equal(t, 404, e.admin("POST", "/v1/admin/affiliates/aff_nope/postback-endpoints", map[string]any{"url": "https://x.example/", "events": []string{"ftd"}}).Status)
		require.Equal(t, 404, e.admin("GET", "/v1/admin/affiliates/aff_nope/balance", nil).Status)
		require.Equal(t, 400, e.admin("GET", "/v1/admin/deliveries?status=lost", nil).Status)

		// Nothing of it reached the database or Temporal.
		require.EqualValues(t, 0, e.count(&store.Conversion{}, "1 = 1"))
		require.False(t, e.workflowExists("conversion:"+integrationID+":evt-bad"))
		require.Empty(t, tracker.received())
	})
}
