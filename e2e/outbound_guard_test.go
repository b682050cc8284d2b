package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/outbound"
)

// Without an allowlist entry for loopback, a postback to a tracker on 127.0.0.1 is refused when the connection
// is made: nothing reaches the tracker, the delivery goes to review at once (retrying cannot help) saying why,
// and the webhook test send is refused the same way.
func TestOutboundRequestsToLoopbackAreRefused(t *testing.T) {
	noPrivateTargets := func(c *config.Config) { c.Delivery.AllowPrivateTargets = outbound.Allowlist{} }
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(http.StatusOK))
		key, _, affiliateID := e.setup(tracker.srv.URL)
		require.Equal(t, "accepted", e.postback(key, ftd("evt-ssrf", affiliateID)).Body["status"])

		eventually(t, 30*time.Second, "needs_review", func() bool {
			return len(e.deliveries("event_id=evt-ssrf&status=needs_review")) == 1
		})
		d := e.deliveries("event_id=evt-ssrf")[0]
		require.Len(t, d["attempts"].([]any), 1)
		require.Contains(t, d["status_reason"], "refused to connect to 127.0.0.1: loopback address")
		require.Empty(t, tracker.received())

		id, _ := e.subscribe("webhook", tracker.srv.URL+"/hook", "conversion.recorded")
		tr := e.admin("POST", "/v1/admin/webhooks/"+id+"/test", nil)
		require.Equal(t, http.StatusOK, tr.Status, tr.Raw)
		require.Equal(t, false, tr.Body["delivered"])
		require.Contains(t, tr.Body["error"], "loopback address")
		require.Empty(t, tracker.received())
	}, noPrivateTargets)
}
