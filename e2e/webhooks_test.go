package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// receivedWebhook is one request as a receiver saw it.
type receivedWebhook struct {
	At     time.Time
	Path   string
	Header http.Header
	Body   []byte
	Type   string
}

// webhookReceiver is an operator's, internal system's or CRM's endpoint. It answers with the status its
// script gives; once hold is called it keeps each request open until the test releases it (or the sender
// gives up), keeping count of the requests open per affiliate and of those the sender gave up on.
type webhookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []receivedWebhook
	status func(n int) int
	held   chan struct{}
	open   map[string]int // affiliate_id → requests for it held open now
	gaveUp int
}

func newWebhookReceiver(t *testing.T, status func(n int) int) *webhookReceiver {
	r := &webhookReceiver{status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env struct {
			Type string `json:"type"`
			Data struct {
				AffiliateID string `json:"affiliate_id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &env)
		r.mu.Lock()
		r.got = append(r.got, receivedWebhook{At: time.Now(), Path: req.URL.Path, Header: req.Header.Clone(), Body: body, Type: env.Type})
		n, st, held := len(r.got), r.status, r.held
		if held != nil {
			r.open[env.Data.AffiliateID]++
		}
		r.mu.Unlock()
		if held != nil {
			gaveUp := false
			select {
			case <-held:
			case <-req.Context().Done():
				gaveUp = true
			}
			r.mu.Lock()
			r.open[env.Data.AffiliateID]--
			if gaveUp {
				r.gaveUp++
			}
			r.mu.Unlock()
			if gaveUp {
				return
			}
		}
		w.WriteHeader(st(n))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// hold keeps every request from now on open until release is called. Release also runs at cleanup, before
// the server closes (closing waits for the requests still open).
func (r *webhookReceiver) hold(t *testing.T) (release func()) {
	held := make(chan struct{})
	r.mu.Lock()
	r.held, r.open = held, map[string]int{}
	r.mu.Unlock()
	release = sync.OnceFunc(func() { close(held) })
	t.Cleanup(release)
	return release
}

// heldOpen reports the affiliates a request is held open for now, and how many requests the sender gave up on.
func (r *webhookReceiver) heldOpen() (affiliates map[string]bool, gaveUp int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	affiliates = map[string]bool{}
	for id, n := range r.open {
		if n > 0 {
			affiliates[id] = true
		}
	}
	return affiliates, r.gaveUp
}

func (r *webhookReceiver) received() []receivedWebhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedWebhook(nil), r.got...)
}

func (r *webhookReceiver) ofType(eventType string) []receivedWebhook {
	var out []receivedWebhook
	for _, w := range r.received() {
		if w.Type == eventType {
			out = append(out, w)
		}
	}
	return out
}

// verify checks a received request with the Standard Webhooks reference library, not affrelay's own code.
func verify(t *testing.T, secret string, w receivedWebhook) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	return wh.Verify(w.Body, w.Header)
}

// subscribe creates a webhook subscription and returns its id and secret.
func (e *testEnv) subscribe(kind, url string, events ...string) (id, secret string) {
	e.t.Helper()
	r := e.admin("POST", "/v1/admin/webhooks", map[string]any{"kind": kind, "url": url, "events": events, "description": kind + " receiver"})
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	secret = r.Body["secret"].(string)
	require.True(e.t, strings.HasPrefix(secret, "whsec_"), secret)
	return r.Body["id"].(string), secret
}

// signUp creates an affiliate through the public signup endpoint.
func (e *testEnv) signUp(name string) string {
	e.t.Helper()
	r := e.admin("POST", "/v1/affiliates", map[string]any{
		"name": name, "email": "partner@aff.example", "plan": map[string]any{"type": "cpa", "amount": "150.00", "currency": "EUR"},
	})
	require.Equal(e.t, http.StatusCreated, r.Status, r.Raw)
	require.Equal(e.t, "affiliate-signup:"+r.Body["id"].(string), r.Body["signup_workflow_id"])
	return r.Body["id"].(string)
}

func data(t *testing.T, w receivedWebhook) map[string]any {
	t.Helper()
	var env map[string]any
	require.NoError(t, json.Unmarshal(w.Body, &env))
	_, err := time.Parse(time.RFC3339, env["timestamp"].(string))
	require.NoError(t, err)
	return env["data"].(map[string]any)
}

func TestWebhookEventsArriveSignedAndVerify(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		// The operator's receiver answers 503 once, so the first event is retried.
		ops := newWebhookReceiver(t, func(n int) int {
			if n == 1 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		crm := newWebhookReceiver(t, always(http.StatusOK))
		dead := newWebhookReceiver(t, always(http.StatusInternalServerError))
		opsID, opsSecret := e.subscribe("webhook", ops.srv.URL+"/hooks", "affiliate.created", "conversion.recorded",
			"commission.calculated", "delivery.needs_review", "endpoint.disabled")
		_, crmSecret := e.subscribe("crm", crm.srv.URL, "affiliate.created")
		deadID, _ := e.subscribe("webhook", dead.srv.URL, "conversion.recorded")

		// affiliate.created: registration data and link parameters to the operator, attribution tags to the CRM.
		signedUpAt := time.Now()
		affiliateID := e.signUp("Partner One")
		eventually(t, 30*time.Second, "affiliate.created retried and delivered", func() bool { return len(ops.ofType("affiliate.created")) == 2 })
		created := ops.ofType("affiliate.created")
		require.Equal(t, created[0].Header.Get("webhook-id"), created[1].Header.Get("webhook-id"), "a retry keeps its webhook-id")
		require.Equal(t, created[0].Body, created[1].Body, "a retry sends the same bytes")
		d := data(t, created[1])
		require.Equal(t, affiliateID, d["affiliate_id"])
		require.Equal(t, map[string]any{"type": "cpa", "amount": map[string]any{"amount": "150.00", "currency": "EUR"}}, d["plan"])
		links := d["links"].(map[string]any)
		require.Contains(t, links["tracking_link_template"], "aff="+affiliateID+"&click_id={click_id}")
		require.Equal(t, []any{"sub1", "sub2", "sub3", "sub4", "sub5"}, links["sub_id_names"])

		eventually(t, 20*time.Second, "the CRM attribution", func() bool { return len(crm.received()) == 1 })
		crmMsg := crm.received()[0]
		t.Logf("affiliate.created reached the CRM receiver %s after the signup request was sent", crmMsg.At.Sub(signedUpAt).Round(time.Millisecond))
		require.NoError(t, verify(t, crmSecret, crmMsg))
		cd := data(t, crmMsg)
		require.Equal(t, affiliateID, cd["external_id"])
		require.Equal(t, []any{"affiliate", "affiliate_id:" + affiliateID, "plan:cpa"}, cd["tags"])
		require.Equal(t, "150.00", cd["attributes"].(map[string]any)["plan_amount"])

		// A conversion: conversion.recorded and commission.calculated to the operator; the dead receiver fails
		// twice, needs review and (auto_disable_after 1) is disabled, which the operator hears about.
		r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "casino-webhooks"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.Equal(t, "accepted", e.postback(r.Body["api_key"].(string), ftd("evt-wh-1", affiliateID)).Body["status"])
		eventually(t, 30*time.Second, "conversion, commission, review and disable events", func() bool {
			return len(ops.ofType("conversion.recorded")) == 1 && len(ops.ofType("commission.calculated")) == 1 &&
				len(ops.ofType("delivery.needs_review")) == 1 && len(ops.ofType("endpoint.disabled")) == 1
		})
		conv := data(t, ops.ofType("conversion.recorded")[0])
		require.Equal(t, "evt-wh-1", conv["event_id"])
		require.Equal(t, map[string]any{"amount": "50.00", "currency": "EUR"}, conv["amount"])
		require.Equal(t, "spring sale&more", conv["subs"].(map[string]any)["sub1"])
		com := data(t, ops.ofType("commission.calculated")[0])
		require.Equal(t, map[string]any{"amount": "150.00", "currency": "EUR"}, com["commission"])
		review := data(t, ops.ofType("delivery.needs_review")[0])
		require.Equal(t, deadID, review["target_id"])
		require.Equal(t, "conversion.recorded", review["event_type"])
		require.EqualValues(t, 2, review["attempts"])
		require.Contains(t, review["reason"], "HTTP 500")
		disabled := data(t, ops.ofType("endpoint.disabled")[0])
		require.Equal(t, deadID, disabled["subscription_id"])
		require.Len(t, dead.received(), 2)
		g := e.admin("GET", "/v1/admin/webhooks/"+deadID, nil)
		require.Equal(t, false, g.Body["enabled"], g.Raw)
		require.Contains(t, g.Body["disabled_reason"], "in a row")

		// webhook.test goes through the same signing and sending, synchronously.
		tr := e.admin("POST", "/v1/admin/webhooks/"+opsID+"/test", nil)
		require.Equal(t, http.StatusOK, tr.Status, tr.Raw)
		require.EqualValues(t, 200, tr.Body["status_code"])
		require.Equal(t, true, tr.Body["delivered"])
		require.Greater(t, tr.Body["latency_ms"], 0.0)
		t.Logf("webhook.test round trip: %v ms", tr.Body["latency_ms"])
		require.Len(t, ops.ofType("webhook.test"), 1)
		require.Equal(t, tr.Body["webhook_id"], ops.ofType("webhook.test")[0].Header.Get("webhook-id"))

		// Every request the operator got verifies with the independent library and carries the headers.
		types := map[string]bool{}
		for _, w := range ops.received() {
			require.NoError(t, verify(t, opsSecret, w), w.Type)
			require.Error(t, verify(t, crmSecret, w), "another subscription's secret does not verify")
			require.Equal(t, "application/json", w.Header.Get("Content-Type"))
			types[w.Type] = true
		}
		require.Len(t, types, 6)
		// Delivered webhooks show up in the deliveries listing with their attempts.
		eventually(t, 10*time.Second, "the created delivery marked delivered", func() bool {
			for _, dl := range e.deliveries("affiliate_id=" + affiliateID) {
				if dl["kind"] == "webhook" && dl["id"] == created[0].Header.Get("webhook-id") {
					return dl["status"] == "delivered" && len(dl["attempts"].([]any)) == 2
				}
			}
			return false
		})
		// Starting the signup again (the remedy when Temporal was down at signup) sends nothing twice.
		again := e.admin("POST", "/v1/admin/affiliates/"+affiliateID+"/signup", nil)
		require.Equal(t, http.StatusAccepted, again.Status, again.Raw)
		require.Equal(t, http.StatusNotFound, e.admin("POST", "/v1/admin/affiliates/aff_nope/signup", nil).Status)
		time.Sleep(time.Second)
		require.Len(t, ops.ofType("affiliate.created"), 2)
		require.Len(t, crm.received(), 1)
		logSigned(t, created[1], opsSecret)
	}, func(c *config.Config) { c.Delivery.AutoDisableAfter = 1 })
}

// logSigned prints one captured request and the independent library's verdict under each secret, for the record.
func logSigned(t *testing.T, w receivedWebhook, secrets ...string) {
	var keys []string
	for k := range w.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(w.Header[k], ", "))
	}
	fmt.Fprintf(&b, "\n%s\n", w.Body)
	for i, s := range secrets {
		fmt.Fprintf(&b, "standard-webhooks library Verify with secret %d of %d: %v\n", i+1, len(secrets), verify(t, s, w))
	}
	t.Logf("captured at the receiver:\nPOST %s\n%s", w.Path, b.String())
}

// TestWebhookSecretRotationGracePeriod: after a rotation both secrets sign for the grace period, then only the
// new one. The grace is an hour, so what is sent during it is sent during it however slow the machine; its end
// is then brought forward in the database, as the clock would bring it, rather than waited for.
func TestWebhookSecretRotationGracePeriod(t *testing.T) {
	const grace = time.Hour
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		rcv := newWebhookReceiver(t, always(http.StatusOK))
		id, oldSecret := e.subscribe("webhook", rcv.srv.URL, "affiliate.created")

		e.signUp("Before Rotation")
		eventually(t, 20*time.Second, "the first event", func() bool { return len(rcv.received()) == 1 })
		require.NoError(t, verify(t, oldSecret, rcv.received()[0]))
		require.Len(t, strings.Fields(rcv.received()[0].Header.Get("webhook-signature")), 1)

		rotatedFrom := time.Now()
		r := e.admin("POST", "/v1/admin/webhooks/"+id+"/rotate-secret", nil)
		rotatedBy := time.Now()
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		newSecret := r.Body["secret"].(string)
		require.NotEqual(t, oldSecret, newSecret)
		expires, err := time.Parse(time.RFC3339Nano, r.Body["previous_secret_expires_at"].(string))
		require.NoError(t, err)
		require.WithinRange(t, expires, rotatedFrom.Add(grace).Add(-time.Second), rotatedBy.Add(grace).Add(time.Second), "the grace runs from the rotation")

		// During the grace period both secrets sign: a receiver with either verifies.
		e.signUp("During Grace")
		require.EqualValues(t, 200, e.admin("POST", "/v1/admin/webhooks/"+id+"/test", nil).Body["status_code"])
		eventually(t, 20*time.Second, "the events during the grace period", func() bool { return len(rcv.received()) == 3 })
		for _, w := range rcv.received()[1:] {
			require.True(t, w.At.Before(expires), "sent during the grace period")
			require.NoError(t, verify(t, oldSecret, w), w.Type)
			require.NoError(t, verify(t, newSecret, w), w.Type)
			require.Len(t, strings.Fields(w.Header.Get("webhook-signature")), 2)
		}

		logSigned(t, rcv.received()[1], oldSecret, newSecret)

		// After it only the new secret signs.
		ended := e.app.Store.DB.Model(&store.WebhookSecret{}).Where("subscription_id = ? AND expires_at IS NOT NULL", id).
			Update("expires_at", time.Now().Add(-time.Second).UTC())
		require.NoError(t, ended.Error)
		require.EqualValues(t, 1, ended.RowsAffected, "the previous secret is the one with an expiry")
		e.signUp("After Grace")
		eventually(t, 20*time.Second, "the event after the grace period", func() bool { return len(rcv.received()) == 4 })
		last := rcv.received()[3]
		require.NoError(t, verify(t, newSecret, last))
		require.Error(t, verify(t, oldSecret, last))
		require.Len(t, strings.Fields(last.Header.Get("webhook-signature")), 1)
		logSigned(t, last, oldSecret, newSecret)
	}, func(c *config.Config) { c.Delivery.WebhookSecretGrace = grace })
}

// TestSlowWebhookSubscriberDoesNotHoldBackHealthyOne proves isolation by causality, not by the clock: the
// slow receiver answers nothing until the test releases it, and the per-request timeout is longer than the
// test waits, so every healthy delivery that is delivered while no slow attempt has ended did not wait for one.
func TestSlowWebhookSubscriberDoesNotHoldBackHealthyOne(t *testing.T) {
	forEachStore(t, shortPolicy(10), func(t *testing.T, e *testEnv) {
		slow := newWebhookReceiver(t, always(http.StatusOK))
		release := slow.hold(t)
		healthy := newWebhookReceiver(t, always(http.StatusOK))
		slowID, _ := e.subscribe("webhook", slow.srv.URL, "affiliate.created")
		healthyID, _ := e.subscribe("webhook", healthy.srv.URL, "affiliate.created")
		slowAttempts := func() int64 {
			return e.count(&store.DeliveryAttempt{}, "delivery_id IN (?)",
				e.app.Store.DB.Model(&store.Delivery{}).Select("id").Where("endpoint_id = ?", slowID))
		}

		// If a wait below runs out, say where each delivery got to, in the database and in Temporal.
		defer func() {
			if !t.Failed() {
				return
			}
			var ds []store.Delivery
			if err := e.app.Store.DB.Where("endpoint_id IN ?", []string{slowID, healthyID}).Order("created_at").Find(&ds).Error; err != nil {
				t.Logf("reading the deliveries: %v", err)
			}
			for _, d := range ds {
				t.Logf("delivery %s to %s: %s (%s), %d attempts, last status %d, created %s", d.ID, d.EndpointID, d.Status, d.StatusReason,
					d.Attempts, d.LastStatusCode, d.CreatedAt.Format(time.RFC3339Nano))
				logDeliveryWorkflow(t, e, d.ID)
				for _, line := range strings.Split(e.logs.String(), "\n") {
					if strings.Contains(line, d.ID) {
						t.Logf("  app log: %s", line)
					}
				}
			}
			open, gaveUp := slow.heldOpen()
			t.Logf("slow receiver: %d held open, %d given up; healthy receiver: %d received", len(open), gaveUp, len(healthy.received()))
		}()
		const signups = 5
		var affiliates []string
		for i := range signups {
			affiliates = append(affiliates, e.signUp(fmt.Sprintf("Partner %d", i)))
		}
		eventually(t, 30*time.Second, "every healthy delivery delivered", func() bool {
			return e.count(&store.Delivery{}, "endpoint_id = ? AND status = ?", healthyID, store.DeliveryDelivered) == signups
		})
		// Every slow delivery is in flight at once, each held open by the receiver, none answered or given up.
		eventually(t, 30*time.Second, "a slow request held open for every signup", func() bool {
			open, _ := slow.heldOpen()
			return len(open) == signups
		})
		open, gaveUp := slow.heldOpen()
		for _, id := range affiliates {
			require.True(t, open[id], "the slow request for %s is held open", id)
		}
		require.Zero(t, gaveUp, "no slow request timed out: the healthy deliveries did not wait for a timeout")
		require.Zero(t, slowAttempts(), "no slow attempt has ended")
		require.EqualValues(t, signups, e.count(&store.Delivery{}, "endpoint_id = ? AND status = ?", slowID, store.DeliveryPending))
		for _, w := range healthy.received() {
			require.True(t, open[data(t, w)["affiliate_id"].(string)], "a healthy delivery is for a held signup")
		}

		// Released, the slow subscriber gets each of its deliveries through too.
		release()
		eventually(t, 30*time.Second, "every slow delivery delivered once released", func() bool {
			return e.count(&store.Delivery{}, "endpoint_id = ? AND status = ?", slowID, store.DeliveryDelivered) == signups
		})
		require.EqualValues(t, signups, slowAttempts())
	}, func(c *config.Config) { c.Delivery.Timeout = config.MaxDeliveryTimeout })
}

// logDeliveryWorkflow says where a delivery's workflow is in Temporal: its status, its pending workflow task
// and each pending activity's attempt, state and last failure.
func logDeliveryWorkflow(t *testing.T, e *testEnv, deliveryID string) {
	desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), workflows.DeliveryWorkflowID(deliveryID), "")
	if err != nil {
		t.Logf("  its workflow: %v", err)
		return
	}
	t.Logf("  its workflow: %s, started %s", desc.WorkflowExecutionInfo.Status, desc.WorkflowExecutionInfo.StartTime.AsTime().Format(time.RFC3339Nano))
	if wt := desc.PendingWorkflowTask; wt != nil {
		t.Logf("  pending workflow task: %s, attempt %d, scheduled %s, started %s", wt.State, wt.Attempt,
			wt.ScheduledTime.AsTime().Format(time.RFC3339Nano), wt.StartedTime.AsTime().Format(time.RFC3339Nano))
	}
	for _, a := range desc.PendingActivities {
		t.Logf("  pending %s: %s, attempt %d, scheduled %s, last started %s, last failure %v", a.ActivityType.GetName(), a.State, a.Attempt,
			a.ScheduledTime.AsTime().Format(time.RFC3339Nano), a.LastStartedTime.AsTime().Format(time.RFC3339Nano), a.LastFailure.GetMessage())
	}
}

// TestSlowWebhookSubscriberRetriesAfterTimeouts: a receiver that never answers within the per-request timeout
// (2 s in these tests) gets its deliveries retried, each attempt recorded as a timeout, and they stay pending.
func TestSlowWebhookSubscriberRetriesAfterTimeouts(t *testing.T) {
	forEachStore(t, shortPolicy(10), func(t *testing.T, e *testEnv) {
		slow := newWebhookReceiver(t, always(http.StatusOK))
		slow.hold(t)
		slowID, _ := e.subscribe("webhook", slow.srv.URL, "affiliate.created")

		const signups = 3
		for i := range signups {
			e.signUp(fmt.Sprintf("Partner %d", i))
		}
		eventually(t, 30*time.Second, "slow deliveries retried after timeouts", func() bool {
			return e.count(&store.DeliveryAttempt{}, "delivery_id IN (?) AND error = ?",
				e.app.Store.DB.Model(&store.Delivery{}).Select("id").Where("endpoint_id = ?", slowID), "timeout") >= 2*signups
		})
		// The receiver notices a closed connection after the sender has stored its timeout: wait for it too.
		eventually(t, 30*time.Second, "the receiver saw the sender give up on the held requests", func() bool {
			_, gaveUp := slow.heldOpen()
			return gaveUp >= 2*signups
		})
		require.EqualValues(t, signups, e.count(&store.Delivery{}, "endpoint_id = ? AND status = ?", slowID, store.DeliveryPending))
	})
}

func TestWebhookAdminBadInputChangesNothing(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		for name, c := range map[string]struct {
			body  any
			field string
		}{
			"ftp url":         {map[string]any{"url": "ftp://x.example/", "events": []string{"affiliate.created"}}, "url"},
			"relative url":    {map[string]any{"url": "/hooks", "events": []string{"affiliate.created"}}, "url"},
			"no url":          {map[string]any{"events": []string{"affiliate.created"}}, "url"},
			"unknown event":   {map[string]any{"url": "https://x.example/", "events": []string{"player.won"}}, "events"},
			"no events":       {map[string]any{"url": "https://x.example/", "events": []string{}}, "events"},
			"twice an event":  {map[string]any{"url": "https://x.example/", "events": []string{"affiliate.created", "affiliate.created"}}, "events"},
			"test is no sub":  {map[string]any{"url": "https://x.example/", "events": []string{"webhook.test"}}, "events"},
			"crm conversion":  {map[string]any{"kind": "crm", "url": "https://x.example/", "events": []string{"conversion.recorded"}}, "events"},
			"unknown kind":    {map[string]any{"kind": "sms", "url": "https://x.example/", "events": []string{"affiliate.created"}}, "kind"},
			"long descripton": {map[string]any{"url": "https://x.example/", "events": []string{"affiliate.created"}, "description": strings.Repeat("d", 513)}, "description"},
		} {
			r := e.admin("POST", "/v1/admin/webhooks", c.body)
			require.Equal(t, http.StatusBadRequest, r.Status, name+": "+r.Raw)
			require.Equal(t, c.field, r.Body["error"].(map[string]any)["field"], name)
		}
		require.Equal(t, http.StatusBadRequest, e.admin("POST", "/v1/admin/webhooks", map[string]any{"url": "https://x.example/", "events": []string{"affiliate.created"}, "secret": "mine"}).Status)
		require.Equal(t, http.StatusUnauthorized, e.do("POST", "/v1/admin/webhooks", nil, strings.NewReader(`{}`)).Status)
		require.Equal(t, http.StatusUnauthorized, e.do("POST", "/v1/affiliates", nil, strings.NewReader(`{"name":"x"}`)).Status)
		require.Equal(t, http.StatusBadRequest, e.admin("POST", "/v1/affiliates", map[string]any{"name": "x"}).Status)
		require.EqualValues(t, 0, e.count(&store.WebhookSubscription{}, "1 = 1"))
		require.EqualValues(t, 0, e.count(&store.Affiliate{}, "1 = 1"))

		id, _ := e.subscribe("webhook", "https://ops.example/hooks", "affiliate.created")
		for name, body := range map[string]any{
			"nothing":      map[string]any{},
			"bad url":      map[string]any{"url": "mailto:ops@example.com"},
			"bad event":    map[string]any{"events": []string{"nope"}},
			"empty events": map[string]any{"events": []string{}},
			"bad enabled":  map[string]any{"enabled": "yes"},
		} {
			r := e.admin("PATCH", "/v1/admin/webhooks/"+id, body)
			require.Equal(t, http.StatusBadRequest, r.Status, name+": "+r.Raw)
		}
		g := e.admin("GET", "/v1/admin/webhooks/"+id, nil)
		require.Equal(t, "https://ops.example/hooks", g.Body["url"])
		require.Equal(t, []any{"affiliate.created"}, g.Body["events"])
		require.Nil(t, g.Body["secret"], "the secret is shown only once")

		for _, p := range []string{"", "/rotate-secret", "/test"} {
			method := "POST"
			if p == "" {
				method = "GET"
			}
			require.Equal(t, http.StatusNotFound, e.admin(method, "/v1/admin/webhooks/whs_nope"+p, nil).Status, p)
		}
		require.Equal(t, http.StatusNotFound, e.admin("PATCH", "/v1/admin/webhooks/whs_nope", map[string]any{"enabled": true}).Status)
		require.Equal(t, http.StatusNotFound, e.admin("DELETE", "/v1/admin/webhooks/whs_nope", nil).Status)

		// Update, then delete.
		u := e.admin("PATCH", "/v1/admin/webhooks/"+id, map[string]any{"enabled": false, "events": []string{"affiliate.created", "endpoint.disabled"}})
		require.Equal(t, http.StatusOK, u.Status, u.Raw)
		require.Equal(t, false, u.Body["enabled"])
		require.Equal(t, "disabled by operator", u.Body["disabled_reason"])
		require.Equal(t, http.StatusNoContent, e.admin("DELETE", "/v1/admin/webhooks/"+id, nil).Status)
		require.EqualValues(t, 0, e.count(&store.WebhookSubscription{}, "1 = 1"))
		require.EqualValues(t, 0, e.count(&store.WebhookSecret{}, "1 = 1"))
	})
}
