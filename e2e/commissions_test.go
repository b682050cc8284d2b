package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
	"github.com/affrelay/affrelay/workflows"
)

// commissionMonth is October 2026 as the README's Commissions section tells it: every figure there is checked here.
type commissionMonth struct {
	e                  *testEnv
	key, integrationID string
	cpa, rs, hybrid    string // affiliate ids
}

func (m *commissionMonth) createAffiliate(name string, plan map[string]any, parent map[string]any) string {
	m.e.t.Helper()
	body := map[string]any{"name": name, "plan": plan}
	if parent != nil {
		body["parent"] = parent
	}
	r := m.e.admin("POST", "/v1/admin/affiliates", body)
	require.Equal(m.e.t, http.StatusCreated, r.Status, r.Raw)
	return r.Body["id"].(string)
}

// send posts one event and waits until it is recorded, so that each event sees the ones before it.
func (m *commissionMonth) send(eventID, event, affiliateID, player, amount, currency, day string, extra ...string) {
	m.e.t.Helper()
	q := url.Values{"event_id": {eventID}, "event": {event}, "occurred_at": {"2026-" + day + "T12:00:00Z"}}
	for k, v := range map[string]string{"affiliate_id": affiliateID, "player_id": player, "amount": amount, "currency": currency} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	r := m.e.postback(m.key, q)
	require.Equal(m.e.t, http.StatusOK, r.Status, r.Raw)
	eventually(m.e.t, 20*time.Second, "event "+eventID+" recorded", func() bool {
		return m.e.count(&store.Conversion{}, "integration_id = ? AND event_id = ?", m.integrationID, eventID) == 1
	})
}

func (m *commissionMonth) report(affiliateID, groupBy string) response {
	m.e.t.Helper()
	r := m.e.admin("GET", "/v1/affiliates/"+affiliateID+"/commissions?from=2026-09-01&to=2026-11-01&group_by="+groupBy, nil)
	require.Equal(m.e.t, http.StatusOK, r.Status, r.Raw)
	return r
}

// ledgerCents sums an affiliate's ledger straight from the database.
func (m *commissionMonth) ledgerCents(affiliateID string) (sum, entries int64) {
	m.e.t.Helper()
	var row struct{ Sum, N int64 }
	require.NoError(m.e.t, m.e.app.Store.DB.Model(&store.LedgerEntry{}).Select("COALESCE(SUM(amount_minor), 0) AS sum, COUNT(*) AS n").
		Where("affiliate_id = ?", affiliateID).Scan(&row).Error)
	return row.Sum, row.N
}

func reportTotal(t *testing.T, r response) string {
	totals := r.Body["totals"].([]any)
	require.Len(t, totals, 1, r.Raw)
	require.Equal(t, "USD", totals[0].(map[string]any)["currency"])
	return totals[0].(map[string]any)["amount"].(string)
}

func TestCommissionMonth(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "casino-" + store.NewID("n")})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		m := &commissionMonth{e: e, key: r.Body["api_key"].(string), integrationID: r.Body["id"].(string)}

		r = e.admin("POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": "1.08", "effective_from": "2026-09-01T00:00:00Z"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		rates := e.admin("GET", "/v1/admin/fx-rates", nil).Body["fx_rates"].([]any)
		require.Len(t, rates, 1)
		require.Equal(t, "1.08000000", rates[0].(map[string]any)["rate"], "rates are shown with their 8 stored decimals")

		// Affiliate A: CPA 150.00, qualified by a first deposit of 50.00, or 200.00 deposited within 7 days
		// of registration; from 15 October (version 2) the CPA is 120.00.
		qualification := map[string]any{"min_first_deposit": "50.00", "cumulative_deposit": "200.00", "window_days": 7}
		m.cpa = m.createAffiliate("A (CPA)", map[string]any{"type": "cpa", "amount": "150.00", "currency": "USD", "qualification": qualification}, nil)
		r = e.admin("POST", "/v1/admin/affiliates/"+m.cpa+"/plans", map[string]any{
			"type": "cpa", "amount": "120.00", "currency": "USD", "qualification": qualification, "effective_from": "2026-10-15T00:00:00Z",
		})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		// Affiliate B: RevShare tiered 25% / 30% from 5,000.00 / 35% from 10,000.00, negative carryover on.
		m.rs = m.createAffiliate("B (RevShare)", map[string]any{
			"type": "revshare", "currency": "USD", "tier_mode": "tiered", "carryover": true,
			"tiers": []map[string]any{{"from": "0", "rate": "25"}, {"from": "5000.00", "rate": "30"}, {"from": "10000.00", "rate": "35"}},
		}, nil)
		// Affiliate C: Hybrid CPA 100.00 + RevShare ladder 20% to 1,000.00 then 30%, carryover off; A is
		// C's parent and earns 10% of C's commission.
		m.hybrid = m.createAffiliate("C (Hybrid)", map[string]any{
			"type": "hybrid", "amount": "100.00", "currency": "USD", "tier_mode": "ladder",
			"tiers": []map[string]any{{"from": "0", "rate": "20"}, {"from": "1000.00", "rate": "30"}},
		}, map[string]any{"affiliate_id": m.cpa, "share": "10"})

		// A's players.
		m.send("a1-reg", "registration", m.cpa, "a1", "", "", "10-01")
		m.send("a1-ftd", "ftd", m.cpa, "a1", "60.00", "USD", "10-02") // first deposit 60.00 ≥ 50.00: 150.00
		m.send("a2-reg", "registration", m.cpa, "a2", "", "", "10-03")
		m.send("a2-ftd", "ftd", m.cpa, "a2", "30.00", "USD", "10-03")
		m.send("a2-dep1", "deposit", m.cpa, "a2", "100.00", "USD", "10-05")
		m.send("a2-dep2", "deposit", m.cpa, "a2", "80.00", "USD", "10-09") // 210.00 within 7 days: 150.00
		m.send("a3-reg", "registration", m.cpa, "a3", "", "", "10-04")
		m.send("a3-ftd", "ftd", m.cpa, "a3", "40.00", "USD", "10-04")
		m.send("a3-dep1", "deposit", m.cpa, "a3", "170.00", "USD", "10-20")                           // after the window: nothing
		m.send("a4-ftd", "ftd", m.cpa, "a4", "75.00", "EUR", "10-06")                                 // 75.00 EUR × 1.08 = 81.00 USD: 150.00
		m.send("a4-cb", "chargeback", "", "", "75.00", "EUR", "10-12", "original_event_id", "a4-ftd") // clawback -150.00
		m.send("a5-ftd", "ftd", m.cpa, "a5", "55.00", "USD", "10-16")                                 // version 2: 120.00
		dup := e.postback(m.key, url.Values{"event_id": {"a1-ftd"}, "event": {"ftd"}, "affiliate_id": {m.cpa}, "player_id": {"a1"}, "amount": {"60.00"}, "currency": {"USD"}})
		require.Equal(t, "duplicate", dup.Body["status"], dup.Raw)

		// B: September ends at -2,000.00 (carried); October nets 9,000.00.
		m.send("b-sep", "revenue", m.rs, "b1", "-2000.00", "USD", "09-15")
		m.send("b-oct1", "revenue", m.rs, "b1", "4000.00", "USD", "10-03")
		m.send("b-oct2", "revenue", m.rs, "b2", "5500.00", "USD", "10-10")
		m.send("b-oct3", "revenue", m.rs, "b1", "-500.00", "USD", "10-20")
		m.send("b-oct4", "revenue", m.rs, "b2", "1200.00", "USD", "10-25")
		m.send("b-rev", "reversal", "", "", "", "", "10-28", "original_event_id", "b-oct4")

		// C: two players, each with a CPA and revenue.
		m.send("c1-ftd", "ftd", m.hybrid, "c1", "20.00", "USD", "10-02")
		m.send("c1-ngr", "revenue", m.hybrid, "c1", "1500.00", "USD", "10-15")
		m.send("c2-ftd", "ftd", m.hybrid, "c2", "10.00", "USD", "10-16")
		m.send("c2-ngr", "revenue", m.hybrid, "c2", "-300.00", "USD", "10-20")

		// The totals, computed here by hand in cents (the README's Commissions section shows the same working).
		wantA := int64(15000 + 15000 + 15000 - 15000 + 12000)                 // a1, a2, a4, a4 clawback, a5 (version 2)
		octBase := int64(-200000 + 400000 + 550000 - 50000 + 120000 - 120000) // carried -2,000.00 + October 9,000.00
		wantB := octBase * 30 / 100                                           // 7,000.00 reaches the 30% tier: 2,100.00
		require.Equal(t, int64(210000), wantB)
		wantC := int64(10000 + 10000 + (100000*20/100 + (120000-100000)*30/100)) // two CPAs + ladder on 1,200.00
		wantParent := wantC / 10                                                 // 10% of each of C's entries, none rounding here
		require.Equal(t, int64(46000), wantC)

		eventually(t, 10*time.Second, "every entry", func() bool {
			a, _ := m.ledgerCents(m.cpa)
			return a == wantA+wantParent
		})
		sumA, _ := m.ledgerCents(m.cpa)
		sumB, _ := m.ledgerCents(m.rs)
		sumC, _ := m.ledgerCents(m.hybrid)
		require.Equal(t, []int64{wantA + wantParent, wantB, wantC}, []int64{sumA, sumB, sumC})

		// The per-period sums a revenue event reads agree with the RevShare entries they summarise.
		type periodSum struct {
			Period, PlanID    string
			NGRMinor, Written int64
		}
		var fromLedger, fromSummary []periodSum
		require.NoError(t, e.app.Store.DB.Model(&store.LedgerEntry{}).Select("period, plan_id, SUM(base_minor) AS ngr_minor, SUM(amount_minor) AS written").
			Where("kind = ?", "revshare").Group("period, plan_id").Order("period, plan_id").Scan(&fromLedger).Error)
		require.NoError(t, e.app.Store.DB.Model(&store.RevSharePeriod{}).Select("period, plan_id, ngr_minor, written_minor AS written").
			Order("period, plan_id").Scan(&fromSummary).Error)
		require.Len(t, fromLedger, 3) // B September and October, C October
		require.Equal(t, fromLedger, fromSummary)

		// The reports add up to the ledger to the cent, in every grouping and as CSV.
		require.Equal(t, "466.00", reportTotal(t, m.report(m.cpa, "player")))
		require.Equal(t, "2100.00", reportTotal(t, m.report(m.rs, "day")))
		require.Equal(t, "460.00", reportTotal(t, m.report(m.hybrid, "event")))
		byEvent := map[string]string{}
		for _, row := range m.report(m.rs, "event").Body["rows"].([]any) {
			byEvent[row.(map[string]any)["key"].(string)] = row.(map[string]any)["amount"].(string)
		}
		require.Equal(t, map[string]string{
			"b-sep": "0.00", "b-oct1": "500.00", "b-oct2": "1750.00", "b-oct3": "-150.00", "b-oct4": "360.00", "b-rev": "-360.00",
		}, byEvent)
		csvResp := e.do("GET", "/v1/affiliates/"+m.hybrid+"/commissions?from=2026-10-01&to=2026-11-01&group_by=player",
			map[string]string{"Authorization": "Bearer " + adminToken, "Accept": "text/csv"}, nil)
		require.Equal(t, http.StatusOK, csvResp.Status)
		require.Equal(t, "text/csv; charset=utf-8", csvResp.Header.Get("Content-Type"))
		lines, err := csv.NewReader(strings.NewReader(csvResp.Raw)).ReadAll()
		require.NoError(t, err)
		require.Equal(t, [][]string{
			{"player", "currency", "entries", "amount"},
			{"c1", "USD", "2", "450.00"}, // 100.00 + 350.00
			{"c2", "USD", "2", "10.00"},  // 100.00 - 90.00
			{"TOTAL", "USD", "4", "460.00"},
		}, lines)

		// Every entry names its plan version; the EUR deposit's entry keeps the rate it was converted at.
		var a4 store.LedgerEntry
		require.NoError(t, e.app.Store.DB.Where("event_id = ? AND kind = ?", "a4-ftd", "cpa").Take(&a4).Error)
		require.Equal(t, "EUR/USD=1.08000000", a4.FXRate)
		require.NotEmpty(t, a4.PlanID)
		var a5 store.LedgerEntry
		require.NoError(t, e.app.Store.DB.Where("event_id = ?", "a5-ftd").Take(&a5).Error)
		require.NotEqual(t, a4.PlanID, a5.PlanID)

		// Resetting conversion workflows to their first workflow task re-runs RecordConversion: nothing changes.
		_, entriesBefore := m.ledgerCents(m.rs)
		// Each new run re-ran RecordConversion, which found the conversion recorded and read its payout back.
		for eventID, payout := range map[string]int64{"b-oct2": 175000, "a2-dep2": 15000, "c2-ngr": -9000, "a4-cb": -15000} {
			res := resetToFirstTask[workflows.ConversionResult](t, e, workflows.ConversionWorkflowID(m.integrationID, eventID))
			require.Equal(t, payout, res.PayoutMinor, eventID)
		}
		sumA, _ = m.ledgerCents(m.cpa)
		sumB, entriesAfter := m.ledgerCents(m.rs)
		sumC, _ = m.ledgerCents(m.hybrid)
		require.Equal(t, []int64{wantA + wantParent, wantB, wantC}, []int64{sumA, sumB, sumC})
		require.Equal(t, entriesBefore, entriesAfter)
	})
}

// resetToFirstTask resets a finished workflow to its first completed workflow task, as an operator would in
// the Temporal UI, and returns the new run's result.
func resetToFirstTask[R any](t *testing.T, e *testEnv, workflowID string) R {
	ctx, cancel := context.WithTimeout(context.Background(), loadedWait)
	defer cancel()
	// A conversion is recorded inside the first workflow task, before that task completes: wait for the
	// workflow to finish, so that its history has that task and the reset replaces a closed run.
	require.NoError(t, e.app.Temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil), workflowID)
	var firstTask int64
	iter := e.app.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() && firstTask == 0 {
		ev, err := iter.Next()
		require.NoError(t, err)
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			firstTask = ev.GetEventId()
		}
	}
	require.NotZero(t, firstTask, workflowID)
	desc, err := e.app.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
	require.NoError(t, err)
	resp, err := e.app.Temporal.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 "default",
		WorkflowExecution:         desc.GetWorkflowExecutionInfo().GetExecution(),
		Reason:                    "e2e: reset must not change totals",
		WorkflowTaskFinishEventId: firstTask,
		RequestId:                 store.NewID("reset"),
	})
	require.NoError(t, err)
	run := e.app.Temporal.GetWorkflow(ctx, workflowID, resp.GetRunId())
	var res R
	require.NoError(t, run.Get(ctx, &res))
	require.NotEqual(t, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), run.GetRunID())
	return res
}

func TestCommissionAdminBadInputChangesNothing(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		tracker := newSink(t, always(200))
		_, integrationID, affiliateID := e.setup(tracker.srv.URL)
		tiers := []map[string]any{{"from": "0", "rate": "25"}}
		for name, c := range map[string]struct {
			method, path string
			body         any
			status       int
			field        string
		}{
			"unknown plan type":              {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "cpl", "currency": "USD"}}, 400, "plan.type"},
			"revshare without tiers":         {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "revshare", "currency": "USD", "tier_mode": "tiered"}}, 400, "plan.tiers"},
			"first tier not at 0":            {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "revshare", "currency": "USD", "tier_mode": "tiered", "tiers": []map[string]any{{"from": "10", "rate": "25"}}}}, 400, "plan.tiers[0].from"},
			"tiers not ascending":            {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "revshare", "currency": "USD", "tier_mode": "ladder", "tiers": []map[string]any{{"from": "0", "rate": "25"}, {"from": "0", "rate": "30"}}}}, 400, "plan.tiers[1].from"},
			"rate over 100":                  {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "revshare", "currency": "USD", "tier_mode": "tiered", "tiers": []map[string]any{{"from": "0", "rate": "100.01"}}}}, 400, "plan.tiers[0].rate"},
			"rate as float":                  {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "revshare", "currency": "USD", "tier_mode": "tiered", "tiers": []map[string]any{{"from": "0", "rate": "1e1"}}}}, 400, "plan.tiers[0].rate"},
			"unknown tier mode":              {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "revshare", "currency": "USD", "tier_mode": "steps", "tiers": tiers}}, 400, "plan.tier_mode"},
			"window without cumulative":      {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "cpa", "amount": "1", "currency": "USD", "qualification": map[string]any{"window_days": 7}}}, 400, "plan.qualification.window_days"},
			"negative min deposit":           {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "cpa", "amount": "1", "currency": "USD", "qualification": map[string]any{"min_first_deposit": "-5"}}}, 400, "plan.qualification.min_first_deposit"},
			"hybrid without amount":          {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "hybrid", "currency": "USD", "tier_mode": "tiered", "tiers": tiers}}, 400, "plan.amount"},
			"unknown parent":                 {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "cpa", "amount": "1", "currency": "USD"}, "parent": map[string]any{"affiliate_id": "aff_nope", "share": "10"}}, 404, ""},
			"parent share 0":                 {"POST", "/v1/admin/affiliates", map[string]any{"name": "x", "plan": map[string]any{"type": "cpa", "amount": "1", "currency": "USD"}, "parent": map[string]any{"affiliate_id": affiliateID, "share": "0"}}, 400, "parent.share"},
			"version without effective_from": {"POST", "/v1/admin/affiliates/" + affiliateID + "/plans", map[string]any{"type": "cpa", "amount": "1", "currency": "USD"}, 400, "effective_from"},
			"version before the current":     {"POST", "/v1/admin/affiliates/" + affiliateID + "/plans", map[string]any{"type": "cpa", "amount": "1", "currency": "USD", "effective_from": "1969-01-01T00:00:00Z"}, 409, ""},
			"version in another currency":    {"POST", "/v1/admin/affiliates/" + affiliateID + "/plans", map[string]any{"type": "cpa", "amount": "1", "currency": "EUR", "effective_from": "2027-01-01T00:00:00Z"}, 409, ""},
			"version of unknown affiliate":   {"POST", "/v1/admin/affiliates/aff_nope/plans", map[string]any{"type": "cpa", "amount": "1", "currency": "USD", "effective_from": "2027-01-01T00:00:00Z"}, 404, ""},
			"own parent":                     {"PUT", "/v1/admin/affiliates/" + affiliateID + "/parent", map[string]any{"affiliate_id": affiliateID, "share": "10"}, 409, ""},
			"fx same currency":               {"POST", "/v1/admin/fx-rates", map[string]any{"base": "USD", "quote": "USD", "rate": "1", "effective_from": "2026-01-01T00:00:00Z"}, 400, "quote"},
			"fx rate 0":                      {"POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": "0", "effective_from": "2026-01-01T00:00:00Z"}, 400, "rate"},
			"fx 9 decimals":                  {"POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": "1.123456789", "effective_from": "2026-01-01T00:00:00Z"}, 400, "rate"},
			"fx rate as number":              {"POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": 1.08, "effective_from": "2026-01-01T00:00:00Z"}, 400, "rate"},
			"fx no time":                     {"POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": "1.08"}, 400, "effective_from"},
			"landing host with scheme":       {"PUT", "/v1/admin/integrations/" + integrationID + "/landing-hosts", map[string]any{"hosts": []string{"https://casino.example"}}, 400, "hosts[0]"},
			"report without from":            {"GET", "/v1/affiliates/" + affiliateID + "/commissions?to=2026-11-01", nil, 400, "from"},
			"report to before from":          {"GET", "/v1/affiliates/" + affiliateID + "/commissions?from=2026-11-01&to=2026-10-01", nil, 400, "to"},
			"report bad group":               {"GET", "/v1/affiliates/" + affiliateID + "/commissions?from=2026-10-01&to=2026-11-01&group_by=week", nil, 400, "group_by"},
			"report unknown affiliate":       {"GET", "/v1/affiliates/aff_nope/commissions?from=2026-10-01&to=2026-11-01", nil, 404, ""},
		} {
			r := e.admin(c.method, c.path, c.body)
			require.Equal(t, c.status, r.Status, name+": "+r.Raw)
			if c.field != "" {
				require.Equal(t, c.field, r.Body["error"].(map[string]any)["field"], name)
			}
		}
		require.Equal(t, 401, e.do("GET", "/v1/affiliates/"+affiliateID+"/commissions?from=2026-10-01&to=2026-11-01", nil, nil).Status)
		require.EqualValues(t, 1, e.count(&store.Affiliate{}, "1 = 1"))
		require.EqualValues(t, 1, e.count(&store.Plan{}, "1 = 1"))
		require.EqualValues(t, 0, e.count(&store.FXRate{}, "1 = 1"))
		require.EqualValues(t, 0, e.count(&store.Affiliate{}, "parent_id <> ''"))
		require.EqualValues(t, 0, e.count(&store.Integration{}, "landing_hosts <> ''"))

		// The good versions of the same requests.
		r := e.admin("POST", "/v1/admin/affiliates/"+affiliateID+"/plans", map[string]any{"type": "hybrid", "amount": "50", "currency": "USD", "tier_mode": "tiered", "tiers": tiers, "effective_from": "2027-01-01T00:00:00+01:00"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		r = e.admin("GET", "/v1/admin/affiliates/"+affiliateID+"/plans", nil)
		require.Equal(t, http.StatusOK, r.Status)
		plans := r.Body["plans"].([]any)
		require.Len(t, plans, 2)
		v2 := plans[1].(map[string]any)
		require.Equal(t, "2026-12-31T23:00:00Z", v2["effective_from"])
		require.Equal(t, []any{map[string]any{"from": "0.00", "rate": "25.00"}}, v2["tiers"])
		r = e.admin("POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": "1.08345", "effective_from": "2026-01-01T00:00:00Z"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		require.Equal(t, "1.08345000", r.Body["rate"])
		r = e.admin("POST", "/v1/admin/fx-rates", map[string]any{"base": "EUR", "quote": "USD", "rate": "1.1", "effective_from": "2026-01-01T00:00:00Z"})
		require.Equal(t, http.StatusConflict, r.Status, "one rate per pair and time")
	})
}

// TestConcurrentRevenueLandsOnTheExactMonth sends one affiliate's revenue events all at once: however the
// transactions interleave, the RevShare entries add up to the month's commission.
func TestConcurrentRevenueLandsOnTheExactMonth(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "casino-" + store.NewID("n")})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		key := r.Body["api_key"].(string)
		r = e.admin("POST", "/v1/admin/affiliates", map[string]any{"name": "RS", "plan": map[string]any{
			"type": "revshare", "currency": "USD", "tier_mode": "tiered",
			"tiers": []map[string]any{{"from": "0", "rate": "25"}, {"from": "5000.00", "rate": "30"}, {"from": "10000.00", "rate": "35"}},
		}})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		affiliateID := r.Body["id"].(string)

		const events = 40
		var ngr int64
		var wg sync.WaitGroup
		for i := range events {
			cents := int64(i%9-3) * 11111 // -333.33 .. 555.55
			ngr += cents
			wg.Go(func() {
				q := url.Values{"event_id": {fmt.Sprintf("n-%d", i)}, "event": {"revenue"}, "affiliate_id": {affiliateID},
					"player_id": {fmt.Sprintf("p%d", i%5)}, "amount": {money.Format(cents, "USD")}, "currency": {"USD"},
					"occurred_at": {fmt.Sprintf("2026-10-%02dT10:00:00Z", 1+i%28)}}
				r := e.postback(key, q)
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
			})
		}
		wg.Wait()
		eventually(t, 30*time.Second, "every event recorded", func() bool {
			return e.count(&store.LedgerEntry{}, "affiliate_id = ?", affiliateID) == events
		})
		// Four rounds of -3..+5 (each 9) then -3, -2, -1, 0: 30 × 111.11 = 3,333.30.
		require.Equal(t, int64(30*11111), ngr)
		want := ngr * 25 / 100 // 3,333.30 is in the 25% tier: 833.325 → 833.32 (banker's: 2 is even)
		require.Equal(t, int64(83332), want)
		var sum int64
		require.NoError(t, e.app.Store.DB.Model(&store.LedgerEntry{}).Select("SUM(amount_minor)").Where("affiliate_id = ?", affiliateID).Scan(&sum).Error)
		require.Equal(t, want, sum)
	})
}
