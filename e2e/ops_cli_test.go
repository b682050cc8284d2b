package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/opscli"
)

// ops runs `affrelay ops args…` against the test server, as an operator's shell would, and returns what it
// printed and its error.
func (e *testEnv) ops(args ...string) (string, error) {
	var out, progress bytes.Buffer
	env := opscli.Env{
		Getenv: func(k string) string {
			return map[string]string{"AFFRELAY_ADMIN_TOKEN": adminToken, "AFFRELAY_URL": e.base}[k]
		},
		Out: &out, Err: &progress, HTTP: apiClient(), PollInterval: 50 * time.Millisecond,
	}
	err := opscli.Run(context.Background(), args, env)
	return out.String() + progress.String(), err
}

// inReview sends an ftd whose one delivery the receiver refuses until it waits in needs_review; it returns its id.
func (e *testEnv) inReview(apiKey, affiliateID, eventID string) string {
	e.t.Helper()
	require.Equal(e.t, "accepted", e.postback(apiKey, ftd(eventID, affiliateID)).Body["status"])
	eventually(e.t, 30*time.Second, eventID+" in needs_review", func() bool {
		return len(e.deliveries("event_id="+eventID+"&status=needs_review")) == 1
	})
	return e.deliveries("event_id=" + eventID)[0]["id"].(string)
}

func TestOpsCLI(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusInternalServerError))
		key, integrationID, affiliateID := e.setup(tracker.srv.URL)
		id := e.inReview(key, affiliateID, "evt-ops")

		out, err := e.ops("deliveries", "--status", "needs_review")
		require.NoError(t, err, out)
		require.Regexp(t, `DELIVERY\s+KIND\s+STATUS\s+TRIES\s+CODE`, out)
		require.Regexp(t, id+`\s+ftd\s+needs_review\s+2\s+500`, out)

		out, err = e.ops("deliveries", "--event", "evt-ops", "--json")
		require.NoError(t, err, out)
		var page struct {
			Deliveries []map[string]any `json:"deliveries"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &page), out)
		require.Len(t, page.Deliveries, 1)
		require.Equal(t, id, page.Deliveries[0]["id"])

		out, err = e.ops("queue")
		require.NoError(t, err, out)
		require.Contains(t, out, "undelivered: 1 (")
		require.Contains(t, out, "needs_review 1")
		require.Regexp(t, `postback\s+pbe_\S+\s+`+affiliateID+`\s+1\s+needs_review=1`, out)

		out, err = e.ops("endpoints", "--affiliate", affiliateID)
		require.NoError(t, err, out)
		require.Contains(t, out, "postback endpoints (1):")
		require.Regexp(t, `pbe_\S+\s+`+affiliateID+`\s+enabled\s+\d+\s+1\s+ftd,deposit\s+http://127\.0\.0\.1`, out)

		tracker.setStatus(always(http.StatusOK))
		_, err = e.ops("refire", id)
		require.ErrorContains(t, err, "--reason is required")
		out, err = e.ops("refire", id, "--reason", "affiliate asked again")
		require.NoError(t, err, out)
		require.Contains(t, out, id+": refire (was needs_review)")
		eventually(t, 20*time.Second, "delivered after the re-fire", func() bool {
			return e.deliveries("event_id=evt-ops")[0]["status"] == "delivered"
		})

		out, err = e.ops("conversion", "evt-ops", "--integration", integrationID, "--temporal-ui", "http://ui.example:8233/")
		require.NoError(t, err, out)
		require.Regexp(t, `ftd evt-ops of integration `+integrationID+` \(\S+\)\naffiliate `+affiliateID+`, player player-evt-ops, click clk/evt-ops, amount 50\.00 EUR`, out)
		require.Contains(t, out, "workflow conversion:"+integrationID+":evt-ops")
		require.Contains(t, out, "http://ui.example:8233/namespaces/default/workflows/conversion:"+integrationID+":evt-ops")
		require.Regexp(t, `received \S+ from 127\.0\.0\.1 with key key_\S+; signature: .+\n  GET /v1/postbacks\?\S+`, out)
		require.Contains(t, out, "answered 200")
		require.Contains(t, out, "ledger entries (1):")
		require.Regexp(t, `led_\S+\s+cpa\s+\S+\s+200\.00 USD`, out)
		require.Contains(t, out, "deliveries (1):")
		require.Regexp(t, id+`\s+ftd\s+delivered`, out)
		require.Regexp(t, `\n3\s+\S+\s+\d+ms\s+200\s+answer 200`, out, "the third attempt, after the re-fire")

		_, err = e.ops("conversion", "evt-none", "--integration", integrationID)
		require.ErrorContains(t, err, "404 not_found")

		// A delivered delivery cannot be skipped: the API's 409 comes back, naming the delivery.
		out, err = e.ops("skip", id)
		require.Error(t, err, out)
		require.Contains(t, err.Error(), "409 conflict")

		// A bulk re-fire by filter is a job the command follows to its end.
		tracker.setStatus(always(http.StatusInternalServerError))
		e.inReview(key, affiliateID, "evt-ops-2")
		tracker.setStatus(always(http.StatusOK))
		out, err = e.ops("refire", "--status", "needs_review", "--affiliate", affiliateID, "--reason", "receiver fixed")
		require.NoError(t, err, out)
		require.Regexp(t, `job \S+ \S+: 1 of 1 re-fired`, out)
		eventually(t, 20*time.Second, "delivered after the bulk re-fire", func() bool {
			return e.deliveries("event_id=evt-ops-2")[0]["status"] == "delivered"
		})
		out, err = e.ops("refire", "--status", "needs_review", "--affiliate", affiliateID, "--reason", "again")
		require.NoError(t, err, out)
		require.Contains(t, out, "no delivery matches: nothing to re-fire")

		err = opscli.Run(context.Background(), []string{"queue"}, opscli.Env{Getenv: func(string) string { return "" }, Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
		require.ErrorContains(t, err, "AFFRELAY_ADMIN_TOKEN is not set")
	})
}
