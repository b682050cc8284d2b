package e2e

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// visit follows a tracking link like a browser's first hop: it does not follow the redirect.
func (e *testEnv) visit(path string) *http.Response {
	e.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(e.base + path)
	require.NoError(e.t, err)
	resp.Body.Close()
	return resp
}

func TestClickAttribution(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		r := e.admin("PUT", "/v1/admin/integrations/"+integrationID+"/landing-hosts", map[string]any{"hosts": []string{"casino.example"}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)

		resp := e.visit("/c/" + affiliateID + "?sub1=fb&sub2=spring&to=" + url.QueryEscape("https://casino.example/welcome?lang=en"))
		require.Equal(t, http.StatusFound, resp.StatusCode)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "casino.example", loc.Host)
		require.Equal(t, "/welcome", loc.Path)
		require.Equal(t, "en", loc.Query().Get("lang"))
		clickID := loc.Query().Get("click_id")
		require.NotEmpty(t, clickID)

		// No open redirect: only allowlisted hosts, and nothing is recorded for a refused link.
		for _, to := range []string{"https://evil.example/", "https://casino.example.evil.example/", "//evil.example/",
			"javascript:alert(1)", "https://user@casino.example/", "ftp://casino.example/", ""} {
			r := e.do("GET", "/c/"+affiliateID+"?to="+url.QueryEscape(to), nil, nil)
			require.Equal(t, http.StatusBadRequest, r.Status, to)
			require.Equal(t, "to", r.Body["error"].(map[string]any)["field"], to)
		}
		require.EqualValues(t, 1, e.count(&store.Click{}, "1 = 1"))

		// A postback with the click_id and no affiliate_id is the click's affiliate's, with its subs.
		send := func(q url.Values) {
			t.Helper()
			r := e.postback(key, q)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			eventually(t, 20*time.Second, "event "+q.Get("event_id"), func() bool {
				return e.count(&store.Conversion{}, "event_id = ?", q.Get("event_id")) == 1
			})
		}
		send(url.Values{"event_id": {"reg-1"}, "event": {"registration"}, "player_id": {"p1"}, "click_id": {clickID}})
		send(url.Values{"event_id": {"ftd-1"}, "event": {"ftd"}, "player_id": {"p1"}, "amount": {"30.00"}, "currency": {"USD"}})
		var conv store.Conversion
		require.NoError(t, e.app.Store.DB.Where("event_id = ?", "reg-1").Take(&conv).Error)
		require.Equal(t, affiliateID, conv.AffiliateID)
		require.Equal(t, []string{"fb", "spring"}, []string{conv.Sub1, conv.Sub2})
		// Ops find the workflow by the affiliate it was attributed to.
		eventually(t, 20*time.Second, "the workflow searchable by its attributed affiliate", func() bool {
			resp, err := e.app.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
				Query: "AffiliateID = '" + affiliateID + "' AND EventID = 'reg-1'",
			})
			return err == nil && len(resp.GetExecutions()) == 1
		})
		// The player keeps the first affiliate, even when a later event names another.
		other := e.admin("POST", "/v1/admin/affiliates", map[string]any{"name": "Other", "plan": map[string]any{"type": "cpa", "amount": "999.00", "currency": "USD"}})
		require.Equal(t, http.StatusCreated, other.Status)
		send(url.Values{"event_id": {"dep-1"}, "event": {"deposit"}, "player_id": {"p1"}, "affiliate_id": {other.Body["id"].(string)}, "amount": {"5.00"}, "currency": {"USD"}})
		var dep store.Conversion
		require.NoError(t, e.app.Store.DB.Where("event_id = ?", "dep-1").Take(&dep).Error)
		require.Equal(t, affiliateID, dep.AffiliateID)
		bal := e.admin("GET", "/v1/admin/affiliates/"+affiliateID+"/balance", nil)
		require.Equal(t, []any{map[string]any{"currency": "USD", "amount": "200.00", "pending": "0.00", "approved": "200.00", "on_hold": "0.00", "paid": "0.00"}}, bal.Body["balances"])

		// Unknown click or affiliate code: recorded, not rejected, and listed as unattributed.
		resp = e.visit("/c/aff_nobody?to=" + url.QueryEscape("https://casino.example/"))
		require.Equal(t, http.StatusFound, resp.StatusCode)
		strayLoc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		send(url.Values{"event_id": {"reg-2"}, "event": {"registration"}, "player_id": {"p2"}, "click_id": {strayLoc.Query().Get("click_id")}})
		send(url.Values{"event_id": {"reg-3"}, "event": {"registration"}, "player_id": {"p3"}, "click_id": {"clk_unknown"}})
		r = e.admin("GET", "/v1/admin/unattributed?from=2000-01-01&to=2100-01-01", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		reasons := map[string]string{}
		for _, c := range r.Body["conversions"].([]any) {
			reasons[c.(map[string]any)["event_id"].(string)] = c.(map[string]any)["reason"].(string)
		}
		require.Equal(t, map[string]string{"reg-2": "unknown affiliate aff_nobody", "reg-3": "unknown click clk_unknown"}, reasons)
	})
}
