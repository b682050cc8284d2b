package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pageThrough follows a listing one item a page (limit=1, after=next_after) and returns the ids in order.
func (e *testEnv) pageThrough(path, name, idKey string) []string {
	e.t.Helper()
	var ids []string
	for after := ""; ; {
		r := e.admin("GET", path+"&limit=1&after="+url.QueryEscape(after), nil)
		require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
		for _, item := range r.Body[name].([]any) {
			ids = append(ids, item.(map[string]any)[idKey].(string))
		}
		next, ok := r.Body["next_after"].(string)
		if !ok {
			return ids
		}
		after = next
	}
}

// The affiliates, webhooks and deliveries listings page by cursor and filter by time; bad parameters are
// refused naming them.
func TestListingsPageAndFilterByTime(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		sink := newSink(t, always(http.StatusOK))
		key, _, earner := e.setup(sink.srv.URL)
		e.signUp("Partner Two")
		e.signUp("Partner Three")
		for i := range 3 {
			e.subscribe("webhook", fmt.Sprintf("%s/hook-%d", sink.srv.URL, i), "conversion.recorded")
		}
		for i := range 4 {
			require.Equal(t, http.StatusOK, e.postback(key, ftd(fmt.Sprintf("evt-list-%d", i), earner)).Status)
		}
		eventually(t, time.Minute, "every delivery delivered", func() bool {
			for _, d := range e.deliveries("limit=1000") {
				if d["status"] != "delivered" {
					return false
				}
			}
			return len(e.deliveries("limit=1000")) == 4*4 // the postback and three webhooks per event
		})

		// Affiliates: with plan and balance; the earner's balance is the four CPAs of 200.00 USD.
		all := e.listing("/v1/admin/affiliates?limit=1000", "affiliates")
		require.Len(t, all, 3)
		for _, a := range all {
			require.NotEmpty(t, a["plan"], a)
			if a["affiliate_id"] == earner {
				require.Equal(t, []any{map[string]any{"currency": "USD", "amount": "800.00", "on_hold": "0.00", "paid": "0.00"}}, a["balances"])
			} else {
				require.Empty(t, a["balances"], a)
			}
		}
		paged := e.pageThrough("/v1/admin/affiliates?", "affiliates", "affiliate_id")
		require.Len(t, paged, 3)
		for i, a := range all {
			require.Equal(t, a["affiliate_id"], paged[i])
		}

		// Webhooks: in id order, a page at a time.
		subs := e.listing("/v1/admin/webhooks?limit=1000", "webhooks")
		require.Len(t, subs, 3)
		paged = e.pageThrough("/v1/admin/webhooks?", "webhooks", "id")
		require.Len(t, paged, 3)
		for i, s := range subs {
			require.Equal(t, s["id"], paged[i])
		}

		// Deliveries: newest first, a page at a time, the same order as one page (ties in time by id).
		ds := e.deliveries("limit=1000")
		paged = e.pageThrough("/v1/admin/deliveries?status=delivered", "deliveries", "id")
		require.Len(t, paged, len(ds))
		for i, d := range ds {
			require.Equal(t, d["id"], paged[i])
		}
		require.Len(t, e.pageThrough("/v1/admin/deliveries?affiliate_id="+earner+"&event_id=evt-list-2", "deliveries", "id"), 4, "the postback and three webhooks")

		// The CLI pages the same way: a full page says how to get the next; endpoints reads every page.
		out, err := e.ops("deliveries", "--limit", "10")
		require.NoError(t, err, out)
		require.Contains(t, out, "more: add --after "+ds[9]["id"].(string))
		out, err = e.ops("deliveries", "--limit", "10", "--after", ds[9]["id"].(string), "--json")
		require.NoError(t, err, out)
		require.NotContains(t, out, "more:")
		var rest struct {
			Deliveries []map[string]any `json:"deliveries"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &rest), out)
		require.Len(t, rest.Deliveries, len(ds)-10)
		require.Equal(t, ds[10]["id"], rest.Deliveries[0]["id"])
		out, err = e.ops("endpoints")
		require.NoError(t, err, out)
		require.Contains(t, out, "webhook subscriptions (3):")

		// Time filters: everything was created in [past, future).
		past := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		for _, l := range []struct{ path, name string }{
			{"/v1/admin/affiliates", "affiliates"}, {"/v1/admin/webhooks", "webhooks"}, {"/v1/admin/deliveries", "deliveries"},
		} {
			require.Empty(t, e.listing(l.path+"?from="+future, l.name), l.path)
			require.Empty(t, e.listing(l.path+"?to="+past, l.name), l.path)
			require.NotEmpty(t, e.listing(l.path+"?from="+past+"&to="+future, l.name), l.path)
			for _, bad := range []struct{ query, field string }{
				{"from=yesterday", "from"},
				{"to=2026-13-01T00:00:00Z", "to"},
				{"from=" + future + "&to=" + past, "to"},
				{"limit=0", "limit"},
				{"limit=1001", "limit"},
			} {
				r := e.admin("GET", l.path+"?"+bad.query, nil)
				require.Equal(t, http.StatusBadRequest, r.Status, l.path+"?"+bad.query+": "+r.Raw)
				require.Equal(t, bad.field, r.Body["error"].(map[string]any)["field"], r.Raw)
			}
		}
		r := e.admin("GET", "/v1/admin/deliveries?after=dlv_nope", nil)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, "after", r.Body["error"].(map[string]any)["field"], r.Raw)
		r = e.admin("GET", "/v1/admin/deliveries?status=lost", nil)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, "status", r.Body["error"].(map[string]any)["field"], r.Raw)
	})
}
