package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/store"
)

// The postback a conversion was recorded from is kept as received, credentials redacted, with the answer
// sent. It travels in the workflow input: with no worker running when the API acknowledged (nothing else
// done by the API after its answer), it is stored once a worker runs.
func TestRequestAsReceivedIsKept(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, env *testEnv) {
		sink := newSink(t, always(http.StatusOK))
		apiKey, integrationID, affiliateID := env.setup(sink.srv.URL)
		env.app.StopWorker()

		q := url.Values{"event_id": {"ev-kept-1"}, "event": {"ftd"}, "affiliate_id": {affiliateID}, "amount": {"50.00"}, "currency": {"USD"}}
		ack := env.do("GET", "/v1/postbacks?"+q.Encode(), map[string]string{
			"X-API-Key": apiKey, "X-Partner-Token": "partner-secret-1", "User-Agent": "casino-sender/2",
		}, nil)
		require.Equal(t, http.StatusOK, ack.Status, ack.Raw)
		path := "/v1/admin/conversions/" + integrationID + "/ev-kept-1/request"
		require.Equal(t, http.StatusNotFound, env.admin("GET", path, nil).Status, "not recorded before a worker runs")

		require.NoError(t, env.app.StartWorker())
		eventually(t, 30*time.Second, "request stored", func() bool {
			return env.count(&store.ConversionRequest{}, "event_id = ?", "ev-kept-1") == 1
		})
		r := env.admin("GET", path, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.NotContains(t, r.Raw, apiKey)
		require.NotContains(t, r.Raw, "partner-secret-1")
		require.Equal(t, "GET", r.Body["method"])
		require.Equal(t, "/v1/postbacks", r.Body["path"])
		require.Equal(t, q.Encode(), r.Body["query"])
		headers := r.Body["headers"].(map[string]any)
		keyID := r.Body["key_id"].(string)
		require.True(t, strings.HasPrefix(keyID, "key_"), keyID)
		require.Equal(t, []any{"[redacted: API key " + keyID + "]"}, headers["X-Api-Key"])
		require.Equal(t, []any{"[redacted]"}, headers["X-Partner-Token"])
		require.Equal(t, []any{"casino-sender/2"}, headers["User-Agent"])
		require.Equal(t, "not required: the integration has no active signing secret", r.Body["signature_verdict"])
		require.Equal(t, "127.0.0.1", r.Body["client_ip"])
		response := r.Body["response"].(map[string]any)
		require.EqualValues(t, 200, response["status"])
		require.JSONEq(t, ack.Raw, response["body"].(string), "the answer kept is the answer sent")
		require.Equal(t, ack.Header.Get("X-Request-Id"), r.Body["request_id"])

		unknown := env.admin("GET", "/v1/admin/conversions/"+integrationID+"/no-such-event/request", nil)
		require.Equal(t, http.StatusNotFound, unknown.Status, unknown.Raw)
		require.Contains(t, unknown.Raw, "no-such-event")
	})
}
