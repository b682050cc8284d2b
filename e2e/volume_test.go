package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// TestVolumePlanMonth is the forex month of docs/commissions.md ("Volume plans"): trades of three instrument
// classes, a tier reached mid-month, a reversal that drops back below it, the tier reached again, and a plan
// version from the 20th. The ledger equals a computation done here from the month's lots alone; the trade's
// outbound postback and its signed conversion.recorded webhook are delivered with the volume.
func TestVolumePlanMonth(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "broker-" + store.NewID("n")})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		m := &commissionMonth{e: e, key: r.Body["api_key"].(string), integrationID: r.Body["id"].(string)}

		// Bad plans are refused naming the field, and create nothing.
		for field, plan := range map[string]map[string]any{
			"plan.volume_rates[0].tiers[1].from_lots": {"type": "volume", "currency": "USD", "tier_mode": "tiered", "volume_rates": []map[string]any{
				{"instrument": "fx", "tiers": []map[string]any{{"from_lots": "0", "rate": "5"}, {"from_lots": "100.001", "rate": "6"}}}}},
			"plan.volume_rates[0].instrument": {"type": "volume", "currency": "USD", "volume_rates": []map[string]any{
				{"instrument": "bonds", "tiers": []map[string]any{{"from_lots": "0", "rate": "5"}}}}},
			"plan.volume_rates": {"type": "volume", "currency": "USD"},
			"plan.tier_mode": {"type": "volume", "currency": "USD", "volume_rates": []map[string]any{
				{"instrument": "fx", "tiers": []map[string]any{{"from_lots": "0", "rate": "5"}, {"from_lots": "100", "rate": "6"}}}}},
		} {
			r := e.admin("POST", "/v1/admin/affiliates", map[string]any{"name": "bad", "plan": plan})
			require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			require.Equal(t, field, r.Body["error"].(map[string]any)["field"], r.Raw)
		}
		require.EqualValues(t, 0, e.count(&store.Affiliate{}, "1 = 1"))

		// Version 1 (from the start): fx 5.00 a lot, 6.00 from 100 lots in the month (tiered); metals 3.00;
		// every other class 1.50. Version 2 from 20 November: fx 8.00 flat, others 1.50.
		fxPartner := m.createAffiliate("FX partner", map[string]any{
			"type": "volume", "currency": "USD", "tier_mode": "tiered",
			"volume_rates": []map[string]any{
				{"instrument": "fx", "tiers": []map[string]any{{"from_lots": "0", "rate": "5.00"}, {"from_lots": "100", "rate": "6.00"}}},
				{"instrument": "metals", "tiers": []map[string]any{{"from_lots": "0", "rate": "3.00"}}},
				{"instrument": "*", "tiers": []map[string]any{{"from_lots": "0", "rate": "1.50"}}},
			},
		}, nil)
		r = e.admin("POST", "/v1/admin/affiliates/"+fxPartner+"/plans", map[string]any{
			"type": "volume", "currency": "USD", "effective_from": "2026-11-20T00:00:00Z",
			"volume_rates": []map[string]any{
				{"instrument": "fx", "tiers": []map[string]any{{"from_lots": "0", "rate": "8"}}},
				{"instrument": "*", "tiers": []map[string]any{{"from_lots": "0", "rate": "1.5"}}},
			},
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		plans := e.admin("GET", "/v1/admin/affiliates/"+fxPartner+"/plans", nil).Body["plans"].([]any)
		require.Len(t, plans, 2)
		require.Equal(t, []any{map[string]any{"instrument": "fx", "tiers": []any{map[string]any{"from_lots": "0.00", "rate": "8.00"}}},
			map[string]any{"instrument": "*", "tiers": []any{map[string]any{"from_lots": "0.00", "rate": "1.50"}}}}, plans[1].(map[string]any)["volume_rates"])

		tracker := newSink(t, always(200))
		r = e.admin("POST", "/v1/admin/affiliates/"+fxPartner+"/postback-endpoints", map[string]any{
			"url": tracker.srv.URL + "/pb?e={event}&tx={transaction_id}&v={volume}&i={instrument}&p={payout}&cur={currency}", "method": "GET", "events": []string{"trade"},
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		ops := newWebhookReceiver(t, always(200))
		_, opsSecret := e.subscribe("webhook", ops.srv.URL+"/hooks", "conversion.recorded")

		// Bad trades are refused naming the parameter, and record nothing.
		for field, q := range map[string]url.Values{
			"volume":     {"event_id": {"bad-1"}, "event": {"trade"}, "affiliate_id": {fxPartner}, "volume": {"1.255"}},
			"instrument": {"event_id": {"bad-2"}, "event": {"trade"}, "affiliate_id": {fxPartner}, "volume": {"1"}, "instrument": {"bonds"}},
		} {
			r := e.postback(m.key, q)
			require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			require.Equal(t, field, r.Body["error"].(map[string]any)["field"], r.Raw)
		}

		trade := func(id, client, lots, instrument, day string) {
			extra := []string{"volume", lots}
			if instrument != "" {
				extra = append(extra, "instrument", instrument)
			}
			m.send(id, "trade", fxPartner, client, "", "", day, extra...)
		}
		trade("t1", "c1", "60", "fx", "11-02")
		trade("t2", "c2", "12.5", "metals", "11-04")
		trade("t3", "c1", "45.5", "fx", "11-09") // fx reaches 105.50 lots: all of them at 6.00
		trade("t4", "c2", "4", "crypto", "11-10")
		m.send("r3", "reversal", "", "", "", "", "11-12", "original_event_id", "t3") // back to 60 lots at 5.00
		trade("t5", "c1", "50", "fx", "11-15")                                       // 110 lots: 6.00 again
		trade("t6", "c1", "10", "fx", "11-21")                                       // version 2
		trade("t7", "c3", "2.25", "", "11-22")                                       // no class: the * rate

		// Independently: each (version, rate) pool's lots in the month, in hundredths, times its rate.
		type pool struct{ lots, perLotCents int64 }
		pools := []pool{
			{6000 + 5000, 600}, // v1 fx: t1 + t5 (t3 reversed) = 110 lots ≥ 100: 6.00
			{1250, 300},        // v1 metals: 12.5 lots
			{400, 150},         // v1 *: crypto 4 lots
			{1000, 800},        // v2 fx: 10 lots
			{225, 150},         // v2 *: 2.25 lots = 3.375 → 3.38 (half to even)
		}
		var want int64
		for _, p := range pools {
			want += (p.lots*p.perLotCents + 50) / 100 // no pool ends on an exact half cent but the last (3.375 → 3.38: 8 is even)
		}
		require.Equal(t, int64(66000+3750+600+8000+338), want)
		sum, entries := m.ledgerCents(fxPartner)
		require.Equal(t, want, sum)
		require.EqualValues(t, 8, entries, "one volume entry per trade and reversal")

		// What each event wrote, as the commission report shows it.
		r = e.admin("GET", "/v1/affiliates/"+fxPartner+"/commissions?from=2026-11-01&to=2026-12-01&group_by=event", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		byEvent := map[string]string{}
		for _, row := range r.Body["rows"].([]any) {
			byEvent[row.(map[string]any)["key"].(string)] = row.(map[string]any)["amount"].(string)
		}
		require.Equal(t, map[string]string{
			"t1": "300.00", "t2": "37.50", "t3": "333.00", "t4": "6.00", "r3": "-333.00", "t5": "360.00", "t6": "80.00", "t7": "3.38",
		}, byEvent)
		require.Equal(t, "786.88", reportTotal(t, r))

		// The per-period sums a trade reads agree with the volume entries they summarise.
		type periodSum struct {
			Period, PlanID, Instrument string
			Lots, Written              int64
		}
		var fromLedger, fromSummary []periodSum
		require.NoError(t, e.app.Store.DB.Model(&store.LedgerEntry{}).Select("period, plan_id, instrument, SUM(base_minor) AS lots, SUM(amount_minor) AS written").
			Where("kind = ?", "volume").Group("period, plan_id, instrument").Order("period, plan_id, instrument").Scan(&fromLedger).Error)
		require.NoError(t, e.app.Store.DB.Model(&store.VolumePeriod{}).Select("period, plan_id, instrument, lots, written_minor AS written").
			Order("period, plan_id, instrument").Scan(&fromSummary).Error)
		require.Len(t, fromLedger, 5)
		require.Equal(t, fromLedger, fromSummary)

		// The trade's postback reached the affiliate's tracker with its volume and class.
		eventually(t, 20*time.Second, "seven trade postbacks", func() bool { return len(tracker.received()) == 7 })
		got := map[string]url.Values{}
		for _, req := range tracker.received() {
			got[req.URL.Query().Get("tx")] = req.URL.Query()
		}
		require.Equal(t, url.Values{"e": {"trade"}, "tx": {"t3"}, "v": {"45.50"}, "i": {"fx"}, "p": {"333.00"}, "cur": {"USD"}}, got["t3"])
		require.Equal(t, []string{"2.25"}, got["t7"]["v"])
		require.Equal(t, []string{""}, got["t7"]["i"])

		// conversion.recorded of a trade carries it too, signed (checked with the reference library).
		eventually(t, 20*time.Second, "eight conversion.recorded webhooks", func() bool { return len(ops.ofType("conversion.recorded")) == 8 })
		var t2 map[string]any
		for _, w := range ops.ofType("conversion.recorded") {
			require.NoError(t, verify(t, opsSecret, w))
			var env struct {
				Data map[string]any `json:"data"`
			}
			require.NoError(t, json.Unmarshal(w.Body, &env))
			if env.Data["event_id"] == "t2" {
				t2 = env.Data
			}
		}
		require.Equal(t, "12.50", t2["volume"])
		require.Equal(t, "metals", t2["instrument"])

		// Resetting a trade's workflow re-runs RecordConversion: it reads the payout back, and nothing changes.
		res := resetToFirstTask[workflows.ConversionResult](t, e, workflows.ConversionWorkflowID(m.integrationID, "t5"))
		require.Equal(t, int64(36000), res.PayoutMinor)
		sumAfter, entriesAfter := m.ledgerCents(fxPartner)
		require.Equal(t, []int64{want, entries}, []int64{sumAfter, entriesAfter})

		// The operator's month-end file states each client-day's lots: 2.5 more on 2 November, 5 fewer on
		// 15 November. Each difference is written as a trade of the day's class (fx), so the month's fx lots
		// become 110 + 2.5 - 5 = 107.5, still at 6.00: 645.00.
		file := "date,player_id,currency,volume\n" +
			"2026-11-02,c1,USD,62.5\n2026-11-04,c2,USD,12.50\n2026-11-09,c1,USD,0\n2026-11-10,c2,USD,4\n" +
			"2026-11-15,c1,USD,45\n2026-11-21,c1,USD,10\n2026-11-22,c3,USD,2.25\n"
		up := e.uploadBatch(m.key, "text/csv", file)
		require.Equal(t, http.StatusAccepted, up.Status, up.Raw)
		batchID := up.Body["batch_id"].(string)
		rep := e.batchDone(m.key, batchID)
		counts := rep.Body["counts"].(map[string]any)
		require.Equal(t, 5.0, counts["matched"], rep.Raw)
		require.Equal(t, 2.0, counts["corrected"], rep.Raw)
		reconciled := want - 66000 + (11000+250-500)*600/100
		require.Equal(t, int64(77188), reconciled)
		sum, _ = m.ledgerCents(fxPartner)
		require.Equal(t, reconciled, sum)
		require.Equal(t, "-15.00", rep.Body["currencies"].([]any)[0].(map[string]any)["commission_delta"], rep.Raw)
		rows := e.do("GET", "/v1/reconciliation/batches/"+batchID+"/rows?status=corrected", map[string]string{"X-API-Key": m.key}, nil)
		require.Equal(t, http.StatusOK, rows.Status, rows.Raw)
		var volumes [][]any
		for _, row := range rows.Body["rows"].([]any) {
			r := row.(map[string]any)
			volumes = append(volumes, []any{r["date"], r["file_volume"], r["realtime_volume"], r["volume_difference"], r["commission_delta"]})
		}
		require.Equal(t, [][]any{{"2026-11-02", "62.50", "60.00", "2.50", "15.00"}, {"2026-11-15", "45.00", "50.00", "-5.00", "-30.00"}}, volumes)

		// A file with more than 2 decimals of lots is refused naming the column, and changes nothing.
		bad := e.uploadBatch(m.key, "text/csv", "date,player_id,currency,volume\n2026-11-02,c1,USD,62.505\n")
		require.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
		require.Contains(t, bad.Raw, "volume")
		sum, _ = m.ledgerCents(fxPartner)
		require.Equal(t, reconciled, sum)
	})
}
