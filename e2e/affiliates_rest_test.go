package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAffiliateRegistrationByREST: GET /v1/admin/affiliates/{id} and the listing answer exactly the
// registration data and link parameters affiliate.created carries.
func TestAffiliateRegistrationByREST(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		ops := newWebhookReceiver(t, always(http.StatusOK))
		e.subscribe("webhook", ops.srv.URL, "affiliate.created")
		first, second := e.signUp("Partner One"), e.signUp("Partner Two")
		eventually(t, 20*time.Second, "both affiliate.created", func() bool { return len(ops.ofType("affiliate.created")) == 2 })
		pushed := map[string]any{}
		for _, w := range ops.ofType("affiliate.created") {
			d := data(t, w)
			pushed[d["affiliate_id"].(string)] = d
		}

		for _, id := range []string{first, second} {
			r := e.admin("GET", "/v1/admin/affiliates/"+id, nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, pushed[id], r.Body)
		}
		r := e.admin("GET", "/v1/admin/affiliates/aff_nobody", nil)
		require.Equal(t, http.StatusNotFound, r.Status, r.Raw)

		// Pages in id order: one at a time, then the rest; each as registered, with its balance (none yet).
		listed := func(item any) map[string]any {
			a := item.(map[string]any)
			require.Empty(t, a["balances"], a)
			delete(a, "balances")
			return a
		}
		r = e.admin("GET", "/v1/admin/affiliates?limit=1", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		page := r.Body["affiliates"].([]any)
		require.Len(t, page, 1)
		after := r.Body["next_after"].(string)
		require.Equal(t, pushed[after], listed(page[0]))
		r = e.admin("GET", "/v1/admin/affiliates?after="+after, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		rest := r.Body["affiliates"].([]any)
		require.Len(t, rest, 1)
		require.Nil(t, r.Body["next_after"])
		require.Equal(t, pushed[rest[0].(map[string]any)["affiliate_id"].(string)], listed(rest[0]))

		r = e.admin("GET", "/v1/admin/affiliates?limit=0", nil)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	})
}
