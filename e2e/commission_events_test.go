package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A chargeback claws back the CPA and announces it as commission.reversed, naming the entry it reverses;
// so does a chargeback that arrived before its deposit, once the deposit lands.
func TestCommissionReversedWebhook(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		receiver := newWebhookReceiver(t, always(http.StatusOK))
		_, secret := e.subscribe("webhook", receiver.srv.URL, "commission.calculated", "commission.reversed")
		key, _, affiliateID := e.setup(newSink(t, always(http.StatusOK)).srv.URL)
		chargeback := func(eventID, original string) url.Values {
			return url.Values{"event_id": {eventID}, "event": {"chargeback"}, "original_event_id": {original}, "amount": {"50.00"}, "currency": {"EUR"}}
		}

		require.Equal(t, "accepted", e.postback(key, ftd("dep-1", affiliateID)).Body["status"])
		eventually(t, 20*time.Second, "commission.calculated", func() bool { return len(receiver.ofType("commission.calculated")) == 1 })
		calculated := data(t, receiver.ofType("commission.calculated")[0])
		require.Equal(t, map[string]any{"amount": "200.00", "currency": "USD"}, calculated["commission"])

		require.Equal(t, "accepted", e.postback(key, chargeback("dep-1-cb", "dep-1")).Body["status"])
		eventually(t, 20*time.Second, "commission.reversed", func() bool { return len(receiver.ofType("commission.reversed")) == 1 })
		reversed := receiver.ofType("commission.reversed")[0]
		require.NoError(t, verify(t, secret, reversed))
		d := data(t, reversed)
		require.Equal(t, map[string]any{"amount": "-200.00", "currency": "USD"}, d["commission"])
		require.Equal(t, calculated["ledger_entry_id"], d["reverses_ledger_entry_id"])
		require.Equal(t, affiliateID, d["affiliate_id"])

		// The chargeback comes first: nothing to reverse yet. When the deposit lands, both are announced.
		require.Equal(t, "accepted", e.postback(key, chargeback("dep-2-cb", "dep-2")).Body["status"])
		second := ftd("dep-2", affiliateID)
		second.Set("player_id", "player-2")
		require.Equal(t, "accepted", e.postback(key, second).Body["status"])
		eventually(t, 20*time.Second, "both events of the late deposit", func() bool {
			return len(receiver.ofType("commission.calculated")) == 2 && len(receiver.ofType("commission.reversed")) == 2
		})
		late := data(t, receiver.ofType("commission.reversed")[1])
		require.Equal(t, data(t, receiver.ofType("commission.calculated")[1])["ledger_entry_id"], late["reverses_ledger_entry_id"])

		bal := e.admin("GET", "/v1/admin/affiliates/"+affiliateID+"/balance", nil)
		require.Equal(t, []any{map[string]any{"currency": "USD", "amount": "0.00", "pending": "0.00", "approved": "0.00", "on_hold": "0.00", "paid": "0.00"}}, bal.Body["balances"], bal.Raw)
		// Nothing was announced twice.
		time.Sleep(time.Second)
		require.Len(t, receiver.received(), 4)
	})
}
