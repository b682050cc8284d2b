package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// sender is an operator platform that speaks its own dialect: its integration's mapping, and the parameters
// its postbacks carry (as that platform names them) for a click, an event id, an event and an amount.
type sender struct {
	name    string
	mapping map[string]any
	send    func(clickID, eventID, event, amount string) url.Values
}

// dialects are the documented presets, each sending what the platform really sends.
var dialects = []sender{
	{"native", nil, func(clickID, eventID, event, amount string) url.Values {
		return url.Values{"click_id": {clickID}, "event_id": {eventID}, "event": {event}, "amount": {amount}, "currency": {"USD"}}
	}},
	{"voluum", map[string]any{"preset": "voluum"}, func(clickID, eventID, event, amount string) url.Values {
		et := map[string]string{"ftd": "ftd", "deposit": "dep"}[event]
		return url.Values{"cid": {clickID}, "txid": {eventID}, "et": {et}, "payout": {amount}}
	}},
	{"affise", map[string]any{"preset": "affise", "events": map[string]string{"1": "ftd", "2": "deposit"}}, func(clickID, eventID, event, amount string) url.Values {
		goal := map[string]string{"ftd": "1", "deposit": "2"}[event]
		return url.Values{"clickid": {clickID}, "action_id": {eventID}, "goal": {goal}, "sum": {amount}, "currency": {"USD"}, "status": {"1"}}
	}},
	{"tune", map[string]any{"preset": "tune", "events": map[string]string{"11": "ftd", "12": "deposit"}}, func(clickID, eventID, event, amount string) url.Values {
		goal := map[string]string{"ftd": "11", "deposit": "12"}[event]
		return url.Values{"transaction_id": {clickID}, "adv_sub": {eventID}, "goal_id": {goal}, "amount": {amount}, "currency": {"USD"}, "aff_sub": {"spring"}}
	}},
}

// ledgerLine is what a ledger entry says about money, whatever integration and affiliate it belongs to.
type ledgerLine struct {
	Kind, Currency, EventID string
	AmountMinor             int64
}

func (e *testEnv) ledgerOf(affiliateID string) []ledgerLine {
	e.t.Helper()
	var entries []store.LedgerEntry
	require.NoError(e.t, e.app.Store.DB.Where("affiliate_id = ?", affiliateID).Order("event_id, kind").Find(&entries).Error)
	out := make([]ledgerLine, len(entries))
	for i, le := range entries {
		out[i] = ledgerLine{Kind: le.Kind, Currency: le.Currency, EventID: le.EventID, AmountMinor: le.AmountMinor}
	}
	return out
}

// mappedSender sets up an integration (with its affiliate, tracker endpoint and landing host) speaking the
// given mapping, and returns its key, its affiliate and a click of that affiliate.
// host is its landing host, one per integration: a click belongs to the integration whose allowlist has it.
func (e *testEnv) mappedSender(trackerURL, host string, mapping map[string]any) (key, integrationID, affiliateID, clickID string) {
	e.t.Helper()
	key, integrationID, affiliateID = e.setup(trackerURL)
	if mapping != nil {
		r := e.admin("PUT", "/v1/admin/integrations/"+integrationID+"/mapping", mapping)
		require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	}
	r := e.admin("PUT", "/v1/admin/integrations/"+integrationID+"/landing-hosts", map[string]any{"hosts": []string{host}})
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	resp := e.visit("/c/" + affiliateID + "?to=" + url.QueryEscape("https://"+host+"/"))
	require.Equal(e.t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(e.t, err)
	return key, integrationID, affiliateID, loc.Query().Get("click_id")
}

// sendAccepted sends a postback, expects it accepted, and waits until its conversion is recorded.
func (e *testEnv) sendAccepted(key, integrationID string, q url.Values, wantStatus string) response {
	e.t.Helper()
	r := e.postback(key, q)
	require.Equal(e.t, http.StatusOK, r.Status, r.Raw)
	require.Equal(e.t, wantStatus, r.Body["status"], r.Raw)
	eventID := r.Body["event_id"].(string)
	eventually(e.t, 20*time.Second, "event "+eventID+" recorded", func() bool {
		return e.count(&store.Conversion{}, "integration_id = ? AND event_id = ?", integrationID, eventID) == 1
	})
	return r
}

// TestSenderDialects: a sender in each documented dialect lands the same ledger as the native format, a
// parameter no rule maps is refused by name, and the mapping shows on the integration.
func TestSenderDialects(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		ledgers := map[string][]ledgerLine{}
		for _, d := range dialects {
			key, integrationID, affiliateID, clickID := e.mappedSender(tracker.srv.URL, d.name+".example", d.mapping)
			e.sendAccepted(key, integrationID, d.send(clickID, "tx-1", "ftd", "50.00"), "accepted")
			e.sendAccepted(key, integrationID, d.send(clickID, "tx-2", "deposit", "20.00"), "accepted")
			// The same event again, in the same dialect, is a duplicate.
			e.sendAccepted(key, integrationID, d.send(clickID, "tx-1", "ftd", "50.00"), "duplicate")
			var conv store.Conversion
			require.NoError(t, e.app.Store.DB.Where("integration_id = ? AND event_id = ?", integrationID, "tx-2").Take(&conv).Error)
			require.Equal(t, []any{"deposit", int64(2000), "USD", clickID, affiliateID}, []any{conv.Event, conv.AmountMinor, conv.Currency, conv.ClickID, conv.AffiliateID}, d.name)
			ledgers[d.name] = e.ledgerOf(affiliateID)

			if d.mapping == nil {
				continue
			}
			q := d.send(clickID, "tx-3", "ftd", "50.00")
			q.Set("txdi", "typo")
			r := e.postback(key, q)
			require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			require.Equal(t, "txdi", r.Body["error"].(map[string]any)["field"], r.Raw)

			r = e.admin("GET", "/v1/admin/integrations/"+integrationID, nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, d.name, r.Body["postback_mapping"].(map[string]any)["preset"])
			require.Equal(t, "event_id", r.Body["idempotency_key"])
			require.NotEmpty(t, r.Body["postback_mapping_resolved"].(map[string]any)["fields"])
		}
		require.Equal(t, []ledgerLine{{Kind: "cpa", Currency: "USD", EventID: "tx-1", AmountMinor: 20000}}, ledgers["native"])
		for _, d := range dialects {
			require.Equal(t, ledgers["native"], ledgers[d.name], d.name)
		}
	})
}

// TestClickKeyedSender: a sender without event ids is keyed by click_id and the event type; the key cannot
// change once events are recorded.
func TestClickKeyedSender(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		key, integrationID, affiliateID, clickID := e.mappedSender(tracker.srv.URL, "clicks.example",
			map[string]any{"preset": "voluum", "idempotency_key": "click_id"})
		ftd := url.Values{"cid": {clickID}, "et": {"ftd"}, "payout": {"50.00"}}
		r := e.sendAccepted(key, integrationID, ftd, "accepted")
		require.Equal(t, "ftd:"+clickID, r.Body["event_id"])
		require.Equal(t, "conversion:"+integrationID+":ftd:"+clickID, r.Body["workflow_id"])
		// A second ftd of the click, even with another amount, is the same event.
		again := url.Values{"cid": {clickID}, "et": {"ftd"}, "payout": {"75.00"}}
		e.sendAccepted(key, integrationID, again, "duplicate")
		// A deposit of the same click is another event.
		e.sendAccepted(key, integrationID, url.Values{"cid": {clickID}, "et": {"dep"}, "payout": {"20.00"}}, "accepted")
		require.Equal(t, []ledgerLine{{Kind: "cpa", Currency: "USD", EventID: "ftd:" + clickID, AmountMinor: 20000}}, e.ledgerOf(affiliateID))

		// Under this key the sender's own event id is refused, and so is a postback without a click.
		r = e.postback(key, url.Values{"cid": {clickID}, "et": {"ftd"}, "payout": {"50.00"}, "txid": {"T-1"}})
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, "event_id", r.Body["error"].(map[string]any)["field"])
		r = e.postback(key, url.Values{"et": {"ftd"}, "payout": {"50.00"}})
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, "click_id", r.Body["error"].(map[string]any)["field"])

		// Events are recorded: the key stays.
		r = e.admin("PUT", "/v1/admin/integrations/"+integrationID+"/mapping", map[string]any{"preset": "voluum", "idempotency_key": "event_id"})
		require.Equal(t, http.StatusConflict, r.Status, r.Raw)
		// The mapping still changes: ignoring the preset's txid lets a sender that sends one through.
		r = e.admin("PUT", "/v1/admin/integrations/"+integrationID+"/mapping", map[string]any{"preset": "voluum", "ignore": []string{"txid"}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "click_id", r.Body["idempotency_key"])
		e.sendAccepted(key, integrationID, url.Values{"cid": {clickID}, "et": {"ftd"}, "payout": {"50.00"}, "txid": {"T-1"}}, "duplicate")
	})
}

// TestPendingThenApproved: a sender that carries a status records a pending event that earns nothing; the same
// event approved later changes the ledger once (a repeat is a duplicate), and a declined one never earns.
func TestPendingThenApproved(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		affise := dialects[2]
		key, integrationID, affiliateID, clickID := e.mappedSender(tracker.srv.URL, "status.example", affise.mapping)
		withStatus := func(eventID, event, amount, status string) url.Values {
			q := affise.send(clickID, eventID, event, amount)
			q.Set("status", status)
			return q
		}
		statusOf := func(eventID string) string {
			var c store.Conversion
			require.NoError(t, e.app.Store.DB.Where("integration_id = ? AND event_id = ?", integrationID, eventID).Take(&c).Error)
			return c.Status
		}

		e.sendAccepted(key, integrationID, withStatus("tx-1", "ftd", "50.00", "2"), "accepted")
		require.Equal(t, "pending", statusOf("tx-1"))
		require.Empty(t, e.ledgerOf(affiliateID), "a pending event earns nothing")

		r := e.postback(key, withStatus("tx-1", "ftd", "50.00", "1"))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "status_changed", r.Body["status"], r.Raw)
		require.Equal(t, "conversion-status:"+integrationID+":tx-1:approved", r.Body["workflow_id"])
		cpa := []ledgerLine{{Kind: "cpa", Currency: "USD", EventID: "tx-1", AmountMinor: 20000}}
		eventually(t, 20*time.Second, "the approval's ledger entry", func() bool { return len(e.ledgerOf(affiliateID)) == 1 })
		require.Equal(t, cpa, e.ledgerOf(affiliateID))
		require.Equal(t, "approved", statusOf("tx-1"))
		eventually(t, 20*time.Second, "the affiliate's postback of the approved ftd", func() bool { return len(tracker.received()) == 1 })

		// Approved again: a duplicate. Declined after approval: refused, the ledger stays.
		e.sendAccepted(key, integrationID, withStatus("tx-1", "ftd", "50.00", "1"), "duplicate")
		r = e.postback(key, withStatus("tx-1", "ftd", "50.00", "3"))
		require.Equal(t, http.StatusConflict, r.Status, r.Raw)
		require.Equal(t, cpa, e.ledgerOf(affiliateID))

		// Pending, then declined: recorded, never earns. A deposit earns nothing on this CPA plan anyway, so
		// the ledger tells nothing; the status does.
		e.sendAccepted(key, integrationID, withStatus("tx-2", "deposit", "20.00", "2"), "accepted")
		r = e.postback(key, withStatus("tx-2", "deposit", "20.00", "3"))
		require.Equal(t, "status_changed", r.Body["status"], r.Raw)
		eventually(t, 20*time.Second, "tx-2 declined", func() bool { return statusOf("tx-2") == "declined" })
		require.Equal(t, cpa, e.ledgerOf(affiliateID))
		require.Len(t, tracker.received(), 1, "a declined deposit sends the affiliate nothing")
	})
}
