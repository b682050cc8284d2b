package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLeadEventsReachTheCRM: a CRM subscription gets lead.attributed when a player is first attributed and
// lead.updated when a later event changes its status, signed so the Standard Webhooks library verifies them.
func TestLeadEventsReachTheCRM(t *testing.T) {
	forEachStore(t, shortPolicy(2), func(t *testing.T, e *testEnv) {
		crm := newWebhookReceiver(t, always(http.StatusOK))
		_, secret := e.subscribe("crm", crm.srv.URL, "lead.attributed", "lead.updated")
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID, clickID := e.mappedSender(tracker.srv.URL, "leads.example", nil)
		send := func(q url.Values) { e.sendAccepted(key, integrationID, q, "accepted") }

		send(url.Values{"event_id": {"reg-1"}, "event": {"registration"}, "player_id": {"p-1"}, "click_id": {clickID}, "sub2": {"spring"}, "occurred_at": {"2026-11-01T10:00:00Z"}})
		send(url.Values{"event_id": {"dep-0"}, "event": {"deposit"}, "player_id": {"p-1"}, "amount": {"5.00"}, "currency": {"USD"}})
		send(url.Values{"event_id": {"ftd-1"}, "event": {"ftd"}, "player_id": {"p-1"}, "amount": {"50.00"}, "currency": {"USD"}})
		send(url.Values{"event_id": {"cb-1"}, "event": {"chargeback"}, "player_id": {"p-1"}, "amount": {"50.00"}, "currency": {"USD"}, "original_event_id": {"ftd-1"}})
		eventually(t, 20*time.Second, "three lead events", func() bool { return len(crm.received()) == 3 })

		want := func(status, eventID, event string) map[string]any {
			return map[string]any{
				"player_id": "p-1", "integration_id": integrationID, "affiliate_id": affiliateID, "click_id": clickID,
				"subs": map[string]any{"sub2": "spring"}, "landing_host": "leads.example", "first_seen_at": "2026-11-01T10:00:00Z",
				"status": status, "event_id": eventID, "event": event,
			}
		}
		byEvent := map[string]receivedWebhook{}
		for _, w := range crm.received() {
			require.NoError(t, verify(t, secret, w), "the Standard Webhooks reference library verifies it")
			byEvent[data(t, w)["event_id"].(string)] = w
		}
		require.Equal(t, "lead.attributed", byEvent["reg-1"].Type)
		require.Equal(t, want("registered", "reg-1", "registration"), data(t, byEvent["reg-1"]))
		// The CPA plan pays on the ftd: its status is cpa_qualified. The deposit before it changed nothing.
		require.Equal(t, "lead.updated", byEvent["ftd-1"].Type)
		require.Equal(t, want("cpa_qualified", "ftd-1", "ftd"), data(t, byEvent["ftd-1"]))
		require.Equal(t, "lead.updated", byEvent["cb-1"].Type)
		require.Equal(t, want("chargeback", "cb-1", "chargeback"), data(t, byEvent["cb-1"]))
	})
}
