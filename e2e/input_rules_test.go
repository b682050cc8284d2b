package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/postback"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// Any valid UTF-8 event id is accepted (issue 9: "café" was answered 503 for ever, since Temporal takes only
// printable ASCII in a workflow id). The id is encoded into the workflow id; people see the original.
func TestNonASCIIEventIDIsRecorded(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		for _, id := range []string{"café", "заказ-😀-42", "~u:Y2Fmw6k"} {
			wfID := "conversion:" + integrationID + ":" + workflows.IDPart(id)
			r := e.postback(key, ftd(id, affiliateID))
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, map[string]any{"status": "accepted", "event_id": id, "workflow_id": wfID}, r.Body)
			eventually(t, 20*time.Second, "the conversion of "+id, func() bool {
				return e.count(&store.Conversion{}, "event_id = ? AND workflow_id = ?", id, wfID) == 1
			})
			desc, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), wfID, "")
			require.NoError(t, err)
			var attr string
			require.NoError(t, converter.GetDefaultDataConverter().FromPayload(
				desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.EventIDKey.GetName()], &attr))
			require.Equal(t, id, attr, "the search attribute holds the original id")

			again := e.postback(key, ftd(id, affiliateID))
			require.Equal(t, "duplicate", again.Body["status"], again.Raw)
			ds := e.deliveries("event_id=" + url.QueryEscape(id))
			require.Len(t, ds, 1)
			require.Equal(t, id, ds[0]["event_id"])
		}
		// The plain id that looks like an encoded one and the id it would decode to are two events.
		require.EqualValues(t, 3, e.count(&store.Conversion{}, "integration_id = ?", integrationID))
		eventually(t, 20*time.Second, "three postbacks", func() bool { return len(tracker.received()) == 3 })
		var sent []string
		for _, r := range tracker.received() {
			sent = append(sent, r.URL.Query().Get("tx"))
		}
		require.Contains(t, sent, "café", "macros carry the original id")
	})
}

// JSON bodies are refused as query and form are: a member given twice, invalid UTF-8 and lone surrogates are a
// 400 naming the field (issue 9: they were recorded, last one winning, or stored as U+FFFD), and nothing is written.
func TestStrictJSONBodies(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		rest := `"affiliate_id":"` + affiliateID + `","currency":"USD"`
		for body, field := range map[string]string{
			`{"event_id":"x1","event":"bogus","event":"ftd","amount":"10.00",` + rest + `}`:                     "event",
			`{"event_id":"x2","event":"ftd","amount":"10.00","amount":"99999.00",` + rest + `}`:                 "amount",
			`{"event_id":"a","event_id":"b","event":"ftd","amount":"10.00",` + rest + `}`:                       "event_id",
			`{"event_id":"\ud800","event":"ftd","amount":"10.00",` + rest + `}`:                                 "event_id",
			"{\"event_id\":\"\xff\xfe\",\"event\":\"ftd\",\"amount\":\"10.00\"," + rest + "}":                   "event_id",
			`{"event_id":"x3","event":"ftd","player_id":"p\udfff","amount":"1",` + rest + `}`:                   "player_id",
			"{\"event_id\":\"x4\",\"event\":\"ftd\",\"player_id\":\"p\xc3\x28\",\"amount\":\"1\"," + rest + "}": "player_id",
		} {
			r := e.do("POST", "/v1/postbacks", map[string]string{"X-API-Key": key, "Content-Type": "application/json"}, strings.NewReader(body))
			require.Equal(t, http.StatusBadRequest, r.Status, body)
			require.Equal(t, field, r.Body["error"].(map[string]any)["field"], r.Raw)
		}
		r := e.do("POST", "/v1/admin/affiliates/"+affiliateID+"/postback-endpoints",
			map[string]string{"Authorization": "Bearer " + adminToken, "Content-Type": "application/json"},
			strings.NewReader(`{"url":"https://t.example/pb","events":["ftd"],"url":"https://evil.example/pb"}`))
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, "url", r.Body["error"].(map[string]any)["field"], r.Raw)

		require.Zero(t, e.count(&store.Conversion{}, "1 = 1"))
		require.Zero(t, e.count(&store.LedgerEntry{}, "1 = 1"))
		require.Zero(t, e.count(&store.Delivery{}, "1 = 1"))
		require.EqualValues(t, 1, e.count(&store.PostbackEndpoint{}, "1 = 1"))
		require.Empty(t, tracker.received())
	})
}

// The click tracker applies the postback field rules (issue 9: a NUL or a control character was recorded; on
// PostgreSQL a NUL failed with 500) and a per-client rate limit, since it is public and writes a row per visit.
func TestClickParametersAndRateLimit(t *testing.T) {
	const burst = 12
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		_, integrationID, affiliateID := e.setup(newSink(t, always(200)).srv.URL)
		r := e.admin("PUT", "/v1/admin/integrations/"+integrationID+"/landing-hosts", map[string]any{"hosts": []string{"casino.example"}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		to := "to=" + url.QueryEscape("https://casino.example/")
		bad := map[string]string{
			"/c/" + affiliateID + "?" + to + "&sub1=a%00b": "sub1",
			"/c/%01x?" + to: "affiliate_code",
			"/c/%20x?" + to: "affiliate_code",
			"/c/" + affiliateID + "?" + to + "&sub2=%FF%FE":                               "sub2",
			"/c/" + affiliateID + "?" + to + "&sub3=a%C2%85b":                             "sub3", // C1 control NEL
			"/c/" + affiliateID + "?" + to + "&sub1=a&sub1=b":                             "sub1",
			"/c/" + affiliateID + "?" + to + "&" + to:                                     "to",
			"/c/" + affiliateID + "?" + to + "&sub5=" + strings.Repeat("x", 257):          "sub5",
			"/c/" + affiliateID + "?to=" + url.QueryEscape("https://casino.example/\x00"): "to",
			"/c/" + strings.Repeat("a", 129) + "?" + to:                                   "affiliate_code",
		}
		for path, field := range bad {
			r := e.do("GET", path, nil, nil)
			require.Equal(t, http.StatusBadRequest, r.Status, path)
			require.Equal(t, field, r.Body["error"].(map[string]any)["field"], path)
		}
		r = e.do("GET", "/c/"+affiliateID+"?"+to+"&sub1=%zz", nil, nil)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Zero(t, e.count(&store.Click{}, "1 = 1"))

		for range burst - len(bad) - 1 {
			require.Equal(t, http.StatusFound, e.visit("/c/"+affiliateID+"?"+to+"&sub1=café").StatusCode)
		}
		var click store.Click
		require.NoError(t, e.app.Store.DB.Take(&click).Error)
		require.Equal(t, "café", click.Sub1)
		limited := e.visit("/c/" + affiliateID + "?" + to)
		require.Equal(t, http.StatusTooManyRequests, limited.StatusCode)
		require.Equal(t, "100", limited.Header.Get("Retry-After"))
		require.EqualValues(t, burst-len(bad)-1, e.count(&store.Click{}, "1 = 1"))
	}, func(c *config.Config) { c.Security.ClickRateLimitRPS, c.Security.ClickRateLimitBurst = 0.01, burst })
}

// Admin bodies: no credentials in any outbound URL, and every list bounded with a 400 naming the field and the
// limit (issue 9: a postback endpoint with user:secret@ and a RevShare plan with 10,000 tiers were accepted).
func TestAdminBodyBounds(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		_, integrationID, affiliateID := e.setup(newSink(t, always(200)).srv.URL)
		tiers := func(n int) []map[string]any {
			out := make([]map[string]any, n)
			for i := range out {
				out[i] = map[string]any{"from": strconv.Itoa(i * 100), "rate": "25"}
			}
			return out
		}
		many := func(n int, f func(int) string) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = f(i)
			}
			return out
		}
		revshare := func(n int) map[string]any {
			return map[string]any{"type": "revshare", "currency": "USD", "tier_mode": "tiered", "tiers": tiers(n)}
		}
		for name, tc := range map[string]struct {
			method, path string
			body         any
			field, msg   string
		}{
			"endpoint with credentials": {"POST", "/v1/admin/affiliates/" + affiliateID + "/postback-endpoints",
				map[string]any{"url": "http://user:secret@tracker.example/pb", "events": []string{"ftd"}}, "url", "credentials"},
			"endpoint with user only": {"POST", "/v1/admin/affiliates/" + affiliateID + "/postback-endpoints",
				map[string]any{"url": "https://user@tracker.example/pb?c={click_id}", "events": []string{"ftd"}}, "url", "credentials"},
			"webhook with credentials": {"POST", "/v1/admin/webhooks",
				map[string]any{"kind": "webhook", "url": "https://u:p@hooks.example/in", "events": []string{"conversion.recorded"}}, "url", "credentials"},
			"10000 tiers": {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": revshare(10000)}, "plan.tiers", "at most 20"},
			"21 tiers in a version": {"POST", "/v1/admin/affiliates/" + affiliateID + "/plans",
				map[string]any{"type": "revshare", "currency": "USD", "tier_mode": "tiered", "tiers": tiers(21), "effective_from": "2030-01-01T00:00:00Z"}, "tiers", "at most 20"},
			"more events than there are types": {"POST", "/v1/admin/affiliates/" + affiliateID + "/postback-endpoints",
				map[string]any{"url": "https://tracker.example/pb", "events": many(len(postback.EventTypes)+1, func(int) string { return "ftd" })},
				"events", fmt.Sprintf("at most %d", len(postback.EventTypes))},
			"51 hosts": {"PUT", "/v1/admin/integrations/" + integrationID + "/landing-hosts",
				map[string]any{"hosts": many(51, func(i int) string { return "h" + strconv.Itoa(i) + ".example" })}, "hosts", "at most 50"},
			"101 allowlist entries": {"PATCH", "/v1/admin/integrations/" + integrationID,
				map[string]any{"ip_allowlist": many(101, func(i int) string { return "10.0." + strconv.Itoa(i) + ".0/24" })}, "ip_allowlist", "at most 100"},
		} {
			r := e.admin(tc.method, tc.path, tc.body)
			require.Equal(t, http.StatusBadRequest, r.Status, name+": "+r.Raw)
			require.Equal(t, tc.field, r.Body["error"].(map[string]any)["field"], name)
			require.Contains(t, r.Body["error"].(map[string]any)["message"], tc.msg, name)
		}
		require.EqualValues(t, 1, e.count(&store.PostbackEndpoint{}, "1 = 1"))
		require.EqualValues(t, 1, e.count(&store.Affiliate{}, "1 = 1"))
		require.EqualValues(t, 1, e.count(&store.Plan{}, "1 = 1"))
		require.Zero(t, e.count(&store.WebhookSubscription{}, "1 = 1"))
		in := e.admin("GET", "/v1/admin/integrations/"+integrationID, nil)
		require.Empty(t, in.Body["ip_allowlist"], in.Raw)
		require.Empty(t, in.Body["landing_hosts"], in.Raw)
	})
}
