package e2e

import (
	"encoding/csv"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/retrypolicy"
	"github.com/affrelay/affrelay/store"
)

// funnelMonth is what the test sends for one affiliate in one month; the expected report is computed from it.
type funnelMonth struct {
	month         string   // 2026-10
	visitors      []string // one click per entry, all on the 3rd: repeats are the same visitor
	registrations int
	ftds          []int64 // first deposit amounts, minor units
	deposits      []int64 // later deposits
	revenue       []int64 // NGR of revenue events
	sub1          string
}

// funnelAffiliate is one affiliate of the test, its plan, currency and months.
type funnelAffiliate struct {
	id, currency string
	plan         map[string]any
	// commission is what the plan pays for a month, computed here from the plan's terms.
	commission func(m funnelMonth) (cpas, amount int64)
	months     []funnelMonth
}

func (a funnelAffiliate) month(name string) funnelMonth {
	for _, m := range a.months {
		if m.month == name {
			return m
		}
	}
	return funnelMonth{month: name}
}

func distinct(xs []string) int64 {
	seen := map[string]bool{}
	for _, x := range xs {
		seen[x] = true
	}
	return int64(len(seen))
}

func sum(xs []int64) (s int64) {
	for _, x := range xs {
		s += x
	}
	return s
}

// expectedRow is a performance row computed by the test alone: counts from what it sent, rates and EPC with
// math/big (exact, then rounded for display), money formatted by hand.
func expectedRow(currency string, cents func(int64) string, ms []funnelMonth, commission func(funnelMonth) (int64, int64)) map[string]any {
	var clicks, unique, regs, ftds, deposits, cpas, ftdAmount, depositAmount, ngr, comm int64
	for _, m := range ms {
		clicks += int64(len(m.visitors))
		unique += distinct(m.visitors)
		regs += int64(m.registrations)
		ftds += int64(len(m.ftds))
		deposits += int64(len(m.ftds) + len(m.deposits))
		ftdAmount += sum(m.ftds)
		depositAmount += sum(m.ftds) + sum(m.deposits)
		ngr += sum(m.revenue)
		c, amount := commission(m)
		cpas += c
		comm += amount
	}
	ratio := func(num, den int64, scale int64, decimals int) any {
		if den == 0 {
			return nil
		}
		return new(big.Rat).SetFrac64(num*scale, den).FloatString(decimals)
	}
	return map[string]any{
		"clicks": clicks, "unique_clicks": unique, "registrations": regs, "ftds": ftds, "deposits": deposits,
		"qualified_cpas": cpas, "click_to_registration": ratio(regs, clicks, 100, 2), "registration_to_ftd": ratio(ftds, regs, 100, 2),
		"currency": currency, "ftd_amount": cents(ftdAmount), "deposit_amount": cents(depositAmount), "ngr": cents(ngr),
		"commission": cents(comm), "epc": ratio(comm, clicks*100, 1, 4),
	}
}

func cents(v int64) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }

// actualRow flattens a report row as expectedRow does; it must have at most one currency.
func actualRow(t *testing.T, row map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"clicks", "unique_clicks", "registrations", "ftds", "deposits", "qualified_cpas"} {
		out[k] = int64(row[k].(float64))
	}
	out["click_to_registration"], out["registration_to_ftd"] = row["click_to_registration"], row["registration_to_ftd"]
	currencies := row["currencies"].([]any)
	require.Len(t, currencies, 1, row)
	m := currencies[0].(map[string]any)
	for _, k := range []string{"currency", "ftd_amount", "deposit_amount", "ngr", "commission", "epc"} {
		out[k] = m[k]
	}
	return out
}

// Two affiliates over October and November 2026: clicks through the tracker, registrations, first and later
// deposits and revenue through postbacks. Every figure and rate of the performance report equals the test's
// own computation from what it sent, and the commission equals the commission report's for the same range.
func TestPerformanceReport(t *testing.T) {
	forEachStore(t, retrypolicy.DefaultPolicy(), func(t *testing.T, e *testEnv) {
		r := e.admin("POST", "/v1/admin/integrations", map[string]any{"name": "casino-" + store.NewID("n")})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		key, integrationID := r.Body["api_key"].(string), r.Body["id"].(string)
		r = e.admin("PUT", "/v1/admin/integrations/"+integrationID+"/landing-hosts", map[string]any{"hosts": []string{"casino.example"}})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)

		cpa := funnelAffiliate{
			currency: "USD", plan: map[string]any{"type": "cpa", "amount": "100.00", "currency": "USD"},
			commission: func(m funnelMonth) (int64, int64) { return int64(len(m.ftds)), 10000 * int64(len(m.ftds)) },
			months: []funnelMonth{
				{month: "2026-10", visitors: []string{"v1", "v2", "v1", "v3", "v4", "v4", "v5", "v6"}, registrations: 4,
					ftds: []int64{5000, 7000}, deposits: []int64{3000}, sub1: "banner"},
				{month: "2026-11", visitors: []string{"v1", "v7", "v8"}, registrations: 5, ftds: []int64{10000}, sub1: "email"},
			},
		}
		revshare := funnelAffiliate{
			currency: "EUR", plan: map[string]any{"type": "revshare", "currency": "EUR", "tier_mode": "tiered", "tiers": []map[string]any{{"from": "0", "rate": "30"}}},
			commission: func(m funnelMonth) (int64, int64) { return 0, sum(m.revenue) * 30 / 100 },
			months: []funnelMonth{
				{month: "2026-10", visitors: []string{"w1", "w1", "w1", "w2", "w3", "w3", "w3", "w3", "w4", "w4"}, registrations: 2,
					ftds: []int64{4000}, revenue: []int64{20000, 5000}},
				{month: "2026-11", visitors: []string{"w5", "w6", "w5", "w6"}, registrations: 1, ftds: []int64{2500}, revenue: []int64{10000}},
			},
		}
		affs := []*funnelAffiliate{&cpa, &revshare}
		n := 0
		for i, a := range affs {
			r := e.admin("POST", "/v1/admin/affiliates", map[string]any{"name": fmt.Sprintf("Funnel %d", i), "plan": a.plan})
			require.Equal(t, http.StatusCreated, r.Status, r.Raw)
			a.id = r.Body["id"].(string)
			for _, m := range a.months {
				// Clicks go through the tracker as real visits; each visitor is its own user agent. They are
				// then dated into the month, which the tracker (recording now) cannot do.
				for _, v := range m.visitors {
					req, err := http.NewRequest("GET", e.base+"/c/"+a.id+"?sub1="+m.sub1+"&to="+url.QueryEscape("https://casino.example/"), nil)
					require.NoError(t, err)
					req.Header.Set("User-Agent", "browser-"+v)
					resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
					require.NoError(t, err)
					resp.Body.Close()
					require.Equal(t, http.StatusFound, resp.StatusCode)
				}
				day, err := time.Parse("2006-01-02", m.month+"-03")
				require.NoError(t, err)
				require.NoError(t, e.app.Store.DB.Model(&store.Click{}).Where("affiliate_id = ? AND created_at > ?", a.id, time.Now().UTC().Add(-time.Hour)).
					Update("created_at", day.Add(10*time.Hour)).Error)

				send := func(event, player string, amount int64) {
					n++
					q := url.Values{"event_id": {fmt.Sprintf("ev%d", n)}, "event": {event}, "affiliate_id": {a.id}, "player_id": {player},
						"occurred_at": {m.month + "-10T12:00:00Z"}}
					if m.sub1 != "" {
						q.Set("sub1", m.sub1)
					}
					if event != "registration" {
						q.Set("amount", cents(amount))
						q.Set("currency", a.currency)
					}
					r := e.postback(key, q)
					require.Equal(t, http.StatusOK, r.Status, r.Raw)
					eventually(t, 20*time.Second, "event recorded", func() bool {
						return e.count(&store.Conversion{}, "integration_id = ? AND event_id = ?", integrationID, q.Get("event_id")) == 1
					})
				}
				player := func(j int) string { return fmt.Sprintf("%s-%s-p%d", a.id, m.month, j) }
				for j := range m.registrations {
					send("registration", player(j), 0)
				}
				for j, amount := range m.ftds {
					send("ftd", player(j), amount)
				}
				for _, amount := range m.deposits {
					send("deposit", player(0), amount)
				}
				for _, amount := range m.revenue {
					send("revenue", player(0), amount)
				}
			}
		}

		for _, a := range affs {
			centsOf := cents
			// By month: one row per month, and the total of both.
			r := e.admin("GET", "/v1/admin/affiliates/"+a.id+"/performance?from=2026-10-01&to=2026-12-01&group_by=month", nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			rows := r.Body["rows"].([]any)
			require.Len(t, rows, 2, r.Raw)
			for i, month := range []string{"2026-10", "2026-11"} {
				row := rows[i].(map[string]any)
				require.Equal(t, month, row["key"])
				require.Equal(t, expectedRow(a.currency, centsOf, []funnelMonth{a.month(month)}, a.commission), actualRow(t, row), "%s %s", a.id, month)
			}
			total := r.Body["total"].(map[string]any)
			require.Equal(t, expectedRow(a.currency, centsOf, a.months, a.commission), actualRow(t, total), a.id)

			// The commission equals the commission report's for the same range.
			c := e.admin("GET", "/v1/affiliates/"+a.id+"/commissions?from=2026-10-01&to=2026-12-01", nil)
			require.Equal(t, http.StatusOK, c.Status, c.Raw)
			totals := c.Body["totals"].([]any)
			require.Len(t, totals, 1, c.Raw)
			require.Equal(t, a.currency, totals[0].(map[string]any)["currency"])
			require.Equal(t, totals[0].(map[string]any)["amount"], actualRow(t, total)["commission"])

			// CSV carries the same figures: the TOTAL line's commission and EPC.
			csvResp := e.do("GET", "/v1/admin/affiliates/"+a.id+"/performance?from=2026-10-01&to=2026-12-01&group_by=week&format=csv",
				map[string]string{"Authorization": "Bearer " + adminToken}, nil)
			require.Equal(t, http.StatusOK, csvResp.Status, csvResp.Raw)
			lines, err := csv.NewReader(strings.NewReader(csvResp.Raw)).ReadAll()
			require.NoError(t, err)
			header, last := lines[0], lines[len(lines)-1]
			require.Equal(t, "week", header[0])
			require.Equal(t, "TOTAL", last[0])
			col := func(name string) string {
				for i, h := range header {
					if h == name {
						return last[i]
					}
				}
				t.Fatalf("no column %s in %v", name, header)
				return ""
			}
			want := expectedRow(a.currency, centsOf, a.months, a.commission)
			require.Equal(t, want["commission"], col("commission"))
			require.Equal(t, want["epc"], col("epc"))
			require.Equal(t, fmt.Sprint(want["clicks"]), col("clicks"))
		}

		// By sub1: October's banner clicks and events of the CPA affiliate.
		r = e.admin("GET", "/v1/admin/affiliates/"+cpa.id+"/performance?from=2026-10-01&to=2026-11-01&group_by=sub1", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		rows := r.Body["rows"].([]any)
		require.Len(t, rows, 1, r.Raw)
		require.Equal(t, "banner", rows[0].(map[string]any)["key"])
		require.Equal(t, expectedRow("USD", cents, []funnelMonth{cpa.month("2026-10")}, cpa.commission), actualRow(t, rows[0].(map[string]any)))

		// Across affiliates, grouped by affiliate: each affiliate's row is its own report's total.
		r = e.admin("GET", "/v1/admin/performance?from=2026-10-01&to=2026-12-01&group_by=affiliate", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		byAffiliate := map[string]map[string]any{}
		for _, row := range r.Body["rows"].([]any) {
			byAffiliate[row.(map[string]any)["key"].(string)] = row.(map[string]any)
		}
		for _, a := range affs {
			require.Equal(t, expectedRow(a.currency, cents, a.months, a.commission), actualRow(t, byAffiliate[a.id]), a.id)
		}

		// Bad input: 400 naming the parameter.
		for _, tc := range []struct{ path, field string }{
			{"/v1/admin/affiliates/" + cpa.id + "/performance?from=2025-01-01&to=2026-12-01", "to"},
			{"/v1/admin/affiliates/" + cpa.id + "/performance?from=2026-10-01&to=2026-12-01&group_by=affiliate", "group_by"},
			{"/v1/admin/performance?from=2026-10-01&to=2026-12-01&group_by=player", "group_by"},
			{"/v1/admin/affiliates/" + cpa.id + "/performance?from=2026-13-01&to=2026-12-01", "from"},
			{"/v1/admin/affiliates/" + cpa.id + "/performance?from=2026-10-01", "to"},
			{"/v1/admin/affiliates/" + cpa.id + "/performance?from=2026-10-01&to=2026-12-01&format=xml", "format"},
		} {
			r := e.admin("GET", tc.path, nil)
			require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
			require.Equal(t, tc.field, r.Body["error"].(map[string]any)["field"], tc.path)
		}
		r = e.admin("GET", "/v1/admin/affiliates/aff_nobody/performance?from=2026-10-01&to=2026-12-01", nil)
		require.Equal(t, http.StatusNotFound, r.Status, r.Raw)
	})
}
