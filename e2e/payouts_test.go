package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/payout"
	"github.com/affrelay/affrelay/workflows"
)

// payoutModel is the test's own account of what each affiliate is owed: the entries it caused, by event time,
// and which of them were paid. Statements and paid totals from the API must equal what it computes.
type payoutModel struct {
	entries []modelEntry
	minimum int64
}

type modelEntry struct {
	affiliate string
	kind      string
	amount    int64
	at        time.Time
	paid      bool
}

type modelStatement struct {
	net, cpa, adjustments int64
	lines                 int
	payable               bool
}

// statement is what the affiliate's statement for a period ending at end must hold: every unpaid entry before
// end, payable when the net reaches the minimum.
func (m *payoutModel) statement(affiliate string, end time.Time) modelStatement {
	var s modelStatement
	for _, e := range m.entries {
		if e.affiliate != affiliate || e.paid || !e.at.Before(end) {
			continue
		}
		s.lines++
		s.net += e.amount
		if e.kind == "cpa" {
			s.cpa += e.amount
		} else {
			s.adjustments += e.amount
		}
	}
	s.payable = s.net > 0 && s.net >= m.minimum
	return s
}

// pay marks what a paid statement of the period held as paid.
func (m *payoutModel) pay(affiliate string, end time.Time) {
	for i, e := range m.entries {
		if e.affiliate == affiliate && e.at.Before(end) {
			m.entries[i].paid = true
		}
	}
}

func (m *payoutModel) paidTotal(affiliate string) int64 {
	var sum int64
	for _, e := range m.entries {
		if e.affiliate == affiliate && e.paid {
			sum += e.amount
		}
	}
	return sum
}

type payoutTest struct {
	*testEnv
	t     *testing.T
	key   string
	model *payoutModel
}

func (p *payoutTest) affiliate(name, cpa string) string {
	r := p.admin("POST", "/v1/admin/affiliates", map[string]any{"name": name, "email": strings.ToLower(name) + "@aff.example",
		"plan": map[string]any{"type": "cpa", "amount": cpa, "currency": "USD"}})
	require.Equal(p.t, http.StatusCreated, r.Status, r.Raw)
	return r.Body["id"].(string)
}

// ftd sends a first deposit that earns the affiliate's CPA, and records it in the model.
func (p *payoutTest) ftd(affiliate, eventID string, at time.Time, cpa int64) {
	q := url.Values{"event_id": {eventID}, "event": {"ftd"}, "affiliate_id": {affiliate}, "player_id": {"p-" + eventID},
		"amount": {"100.00"}, "currency": {"USD"}, "occurred_at": {at.Format(time.RFC3339)}}
	require.Equal(p.t, "accepted", p.postback(p.key, q).Body["status"])
	p.model.entries = append(p.model.entries, modelEntry{affiliate: affiliate, kind: "cpa", amount: cpa, at: at})
}

// chargeback undoes an ftd: its CPA is clawed back by a new negative entry at the chargeback's time.
func (p *payoutTest) chargeback(affiliate, original string, at time.Time, cpa int64) {
	q := url.Values{"event_id": {original + "-cb"}, "event": {"chargeback"}, "original_event_id": {original},
		"amount": {"100.00"}, "currency": {"USD"}, "occurred_at": {at.Format(time.RFC3339)}}
	require.Equal(p.t, "accepted", p.postback(p.key, q).Body["status"])
	p.model.entries = append(p.model.entries, modelEntry{affiliate: affiliate, kind: "cpa_clawback", amount: -cpa, at: at})
}

func (p *payoutTest) waitForEntries() {
	eventually(p.t, 30*time.Second, "every ledger entry", func() bool {
		var n int64
		require.NoError(p.t, p.app.Store.DB.Table("ledger_entries").Count(&n).Error)
		return int(n) == len(p.model.entries)
	})
}

// run runs a cycle by hand and waits for its statements.
func (p *payoutTest) run(period string, statements int) map[string]map[string]any {
	r := p.admin("POST", "/v1/admin/payouts/run", map[string]any{"period": period})
	require.Equal(p.t, http.StatusAccepted, r.Status, r.Raw)
	var byAffiliate map[string]map[string]any
	eventually(p.t, 30*time.Second, "the statements of "+period, func() bool {
		byAffiliate = map[string]map[string]any{}
		for _, item := range p.list("period=" + period) {
			byAffiliate[item["affiliate_id"].(string)] = item
		}
		return len(byAffiliate) == statements
	})
	return byAffiliate
}

func (p *payoutTest) list(query string) []map[string]any {
	return p.listing("/v1/admin/payouts?"+query, "payouts")
}

// check compares a statement from the API with the model's.
func (p *payoutTest) check(got map[string]any, affiliate string, end time.Time) modelStatement {
	want := p.model.statement(affiliate, end)
	f := func(v int64) string { return money.Format(v, "USD") }
	status := payout.RolledOver
	if want.payable {
		status = payout.Awaiting
	}
	require.Equal(p.t, status, got["status"], got)
	totals := got["totals"].(map[string]any)
	require.Equal(p.t, []any{f(want.net), f(want.cpa), f(want.adjustments)}, []any{totals["net"], totals["cpa"], totals["adjustments"]}, got)
	full := p.admin("GET", "/v1/admin/payouts/"+got["payout_id"].(string), nil)
	require.Equal(p.t, http.StatusOK, full.Status)
	require.Len(p.t, full.Body["lines"], want.lines)
	return want
}

func (p *payoutTest) confirm(payoutID string, header map[string]string, body map[string]any) response {
	b, err := json.Marshal(body)
	require.NoError(p.t, err)
	if header == nil {
		header = map[string]string{"Authorization": "Bearer " + adminToken}
	}
	header["Content-Type"] = "application/json"
	return p.do("POST", "/v1/admin/payouts/"+payoutID+"/confirm", header, bytes.NewReader(b))
}

func paid(ref string) map[string]any {
	return map[string]any{"status": "paid", "external_ref": ref, "paid_at": "2026-10-02T10:00:00Z"}
}

func TestPayoutsOverTwoCycles(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		key, _, _ := e.setup(newSink(t, always(http.StatusOK)).srv.URL)
		p := &payoutTest{testEnv: e, t: t, key: key, model: &payoutModel{minimum: 5000}}
		operator := newWebhookReceiver(t, always(http.StatusOK))
		_, operatorSecret := e.subscribe("webhook", operator.srv.URL, payout.EventRequested, payout.EventProcessed, payout.EventFailed)

		small := p.affiliate("Small", "30.00")      // under the 50.00 minimum in September: rolls over
		clawed := p.affiliate("Clawed", "200.00")   // paid in September, charged back in October
		confirmed := p.affiliate("Twice", "100.00") // confirmed twice, and once with another reference
		r := e.admin("POST", "/v1/admin/webhooks", map[string]any{"url": operator.srv.URL + "/clawed", "events": []string{payout.EventProcessed}, "affiliate_id": clawed})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		clawedSecret := r.Body["secret"].(string)

		// A finance system's key: payouts only.
		r = e.admin("POST", "/v1/admin/payout-keys", map[string]any{"label": "finance"})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		financeKey := map[string]string{"X-API-Key": r.Body["api_key"].(string)}
		require.Equal(t, http.StatusUnauthorized, e.do("GET", "/v1/admin/affiliates/"+small+"/balance", financeKey, nil).Status)
		require.Equal(t, http.StatusUnauthorized, e.do("POST", "/v1/admin/payouts/run", financeKey, strings.NewReader(`{"period":"2026-09"}`)).Status)

		sep := time.Date(2026, 9, 10, 12, 0, 0, 0, time.UTC)
		sepEnd, octEnd := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		p.ftd(small, "s-1", sep, 3000)
		p.ftd(clawed, "c-1", sep, 20000)
		p.ftd(clawed, "c-2", sep.Add(time.Hour), 20000)
		p.ftd(confirmed, "t-1", sep, 10000)
		p.ftd(confirmed, "t-oct", sep.AddDate(0, 1, 0), 10000) // October: not on September's statement
		p.waitForEntries()

		// Cycle 1: September.
		st := p.run("2026-09", 3)
		p.check(st[small], small, sepEnd)
		require.Contains(t, st[small]["reason"], "below the minimum payout of 50.00")
		p.check(st[clawed], clawed, sepEnd)
		p.check(st[confirmed], confirmed, sepEnd)

		// The mass-payout file lists what is to be paid.
		r = e.do("GET", "/v1/admin/payouts/export?period=2026-09", financeKey, nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		rows, err := csv.NewReader(strings.NewReader(r.Raw)).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 3)
		exported := map[string]string{}
		for _, row := range rows[1:] {
			exported[row[1]] = row[5]
		}
		require.Equal(t, map[string]string{clawed: "400.00", confirmed: "100.00"}, exported)

		// Bad confirmations change nothing.
		twiceID, clawedID := st[confirmed]["payout_id"].(string), st[clawed]["payout_id"].(string)
		require.Equal(t, http.StatusNotFound, p.confirm("pay_nope", nil, paid("x")).Status)
		require.Equal(t, http.StatusConflict, p.confirm(st[small]["payout_id"].(string), nil, paid("x")).Status, "rolled over: not awaiting")
		wrong := paid("x")
		wrong["amount"], wrong["currency"] = "99.00", "USD"
		require.Equal(t, http.StatusBadRequest, p.confirm(twiceID, nil, wrong).Status)
		wrong["amount"], wrong["currency"] = "100.00", "EUR"
		require.Equal(t, http.StatusBadRequest, p.confirm(twiceID, nil, wrong).Status)
		require.Equal(t, http.StatusBadRequest, p.confirm(twiceID, nil, map[string]any{"status": "paid", "external_ref": "x"}).Status)
		require.Equal(t, payout.Awaiting, p.admin("GET", "/v1/admin/payouts/"+twiceID, nil).Body["status"])

		// Confirmed twice with the same reference (once by the finance key): one payout.
		ok := paid("wire-t1")
		ok["amount"], ok["currency"] = "100.00", "USD"
		r = p.confirm(twiceID, financeKey, ok)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, false, r.Body["duplicate"])
		r = p.confirm(twiceID, nil, paid("wire-t1"))
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, true, r.Body["duplicate"])
		require.Equal(t, http.StatusConflict, p.confirm(twiceID, nil, paid("wire-t2")).Status)
		require.Equal(t, http.StatusConflict, p.confirm(twiceID, nil, map[string]any{"status": "failed", "external_ref": "wire-t1", "reason": "r"}).Status)
		require.Equal(t, http.StatusConflict, p.confirm(clawedID, nil, paid("wire-t1")).Status, "a reference pays one payout")
		p.model.pay(confirmed, sepEnd)
		require.Equal(t, http.StatusOK, p.confirm(clawedID, nil, paid("wire-c1")).Status)
		p.model.pay(clawed, sepEnd)

		// Cycle 2: October. The chargeback of a paid deposit is a new negative entry on this statement.
		oct := time.Date(2026, 10, 12, 12, 0, 0, 0, time.UTC)
		p.chargeback(clawed, "c-1", oct, 20000)
		p.ftd(clawed, "c-3", oct, 20000)
		p.ftd(clawed, "c-4", oct.Add(time.Hour), 20000)
		p.ftd(small, "s-2", oct, 3000)
		p.waitForEntries()
		st = p.run("2026-10", 3)
		require.Equal(t, modelStatement{net: 20000, cpa: 40000, adjustments: -20000, lines: 3, payable: true}, p.check(st[clawed], clawed, octEnd))
		require.Equal(t, modelStatement{net: 6000, cpa: 6000, lines: 2, payable: true}, p.check(st[small], small, octEnd), "September's entry rolled over")
		p.check(st[confirmed], confirmed, octEnd)
		for _, aff := range []string{small, clawed, confirmed} {
			require.Equal(t, http.StatusOK, p.confirm(st[aff]["payout_id"].(string), nil, paid("wire-oct-"+aff)).Status)
			p.model.pay(aff, octEnd)
		}

		// Paid totals and the balance by status equal the model's.
		for _, aff := range []string{small, clawed, confirmed} {
			bal := e.admin("GET", "/v1/admin/affiliates/"+aff+"/balance", nil)
			require.Equal(t, http.StatusOK, bal.Status, bal.Raw)
			b := bal.Body["balances"].([]any)[0].(map[string]any)
			require.Equal(t, money.Format(p.model.paidTotal(aff), "USD"), b["paid"], aff)
			require.Equal(t, []any{"0.00", "0.00", "0.00"}, []any{b["pending"], b["approved"], b["on_hold"]}, aff)
		}

		// A reset of a paid PayoutWorkflow to its first task finds the payout paid: one payout, paid once.
		clawedOct := workflows.PayoutWorkflowID(clawed, "2026-10", "USD")
		eventually(t, 30*time.Second, "the October payout workflow to finish", func() bool {
			d, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), clawedOct, "")
			return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
		})
		require.Equal(t, "paid", payoutState(t, e, clawedOct))
		res := resetToFirstTask[workflows.PayoutResult](t, e, clawedOct)
		require.Equal(t, workflows.PayoutResult{PayoutID: st[clawed]["payout_id"].(string), Status: payout.Paid}, res)

		// The Schedule fires twice: nothing is stated again.
		ctx := context.Background()
		h := e.app.Temporal.ScheduleClient().GetHandle(ctx, workflows.PayoutScheduleID(payout.Monthly, e.app.Config.Temporal.TaskQueue))
		desc, err := h.Describe(ctx)
		require.NoError(t, err)
		next := desc.Info.NextActionTimes[0].UTC()
		require.Equal(t, []int{1, 6, 0}, []int{next.Day(), next.Hour(), next.Minute()}, "monthly on the 1st at 06:00 UTC")
		before := len(p.list("limit=500"))
		for i := range 2 {
			require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
			eventually(t, 30*time.Second, "the scheduled run", func() bool {
				d, err := h.Describe(ctx)
				return err == nil && len(d.Info.RecentActions) == i+1 && len(d.Info.RunningWorkflows) == 0
			})
			time.Sleep(time.Second) // a scheduled run's workflow id carries its start time to the second
		}
		require.Len(t, p.list("limit=500"), before, "everything is paid; no statement is made twice")

		// Every payout.requested and payout.processed arrived once, signed; the affiliate's subscription got its own.
		eventually(t, 30*time.Second, "every payout webhook", func() bool {
			return len(operator.ofType(payout.EventRequested)) == 5 && len(operator.ofType(payout.EventProcessed)) == 7
		})
		time.Sleep(time.Second)
		var clawedGot int
		for _, w := range operator.received() {
			secret := operatorSecret
			if w.Path == "/clawed" {
				secret, clawedGot = clawedSecret, clawedGot+1
				require.Equal(t, clawed, data(t, w)["affiliate_id"])
			}
			require.NoError(t, verify(t, secret, w))
		}
		require.Equal(t, 2, clawedGot)
		require.Len(t, operator.received(), 5+5+2)
		for _, w := range operator.ofType(payout.EventRequested) {
			d := data(t, w)
			require.NotEmpty(t, d["lines"])
		}

		// Listing pages by cursor through every payout.
		var ids []string
		for cursor := ""; ; {
			r := e.admin("GET", "/v1/admin/payouts?limit=2&cursor="+url.QueryEscape(cursor), nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			for _, item := range r.Body["payouts"].([]any) {
				ids = append(ids, item.(map[string]any)["payout_id"].(string))
			}
			if cursor = r.Body["next_cursor"].(string); cursor == "" {
				break
			}
		}
		require.Len(t, ids, 6)
		sort.Strings(ids)
		require.Len(t, slices.Compact(ids), 6, "no payout listed twice")
		require.Len(t, p.list("status=paid&affiliate_id="+clawed), 2)

		// A statement as CSV: its lines and totals.
		r = e.do("GET", "/v1/admin/payouts/"+st[clawed]["payout_id"].(string), map[string]string{"Authorization": "Bearer " + adminToken, "Accept": "text/csv"}, nil)
		require.Equal(t, http.StatusOK, r.Status)
		rows, err = csv.NewReader(strings.NewReader(r.Raw)).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 1+3+5)
		require.Equal(t, []string{"total_net", "200.00"}, []string{rows[len(rows)-1][5], rows[len(rows)-1][9]})
	}, func(c *config.Config) { c.Payout.Minimums = map[string]int64{"USD": 5000} })
}

// payoutState reads a workflow's PayoutState search attribute, as the Temporal UI shows it.
func payoutState(t *testing.T, e *testEnv, workflowID string) string {
	d, err := e.app.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	require.NoError(t, err)
	var state string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()["PayoutState"], &state))
	return state
}

// An entry held for review stays off the statement until released; a failed payout returns its entries,
// still approved, to the next cycle and announces payout.failed; every status change is recorded.
func TestPayoutHoldsAndFailedPayout(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		key, _, _ := e.setup(newSink(t, always(http.StatusOK)).srv.URL)
		p := &payoutTest{testEnv: e, t: t, key: key, model: &payoutModel{}}
		operator := newWebhookReceiver(t, always(http.StatusOK))
		_, secret := e.subscribe("webhook", operator.srv.URL, payout.EventFailed, payout.EventProcessed)
		aff := p.affiliate("Held", "100.00")
		sep := time.Date(2026, 9, 3, 12, 0, 0, 0, time.UTC)
		p.ftd(aff, "h-1", sep, 10000)
		p.ftd(aff, "h-2", sep.Add(time.Hour), 10000)
		p.waitForEntries()

		r := e.admin("GET", "/v1/admin/affiliates/"+aff+"/ledger-entries", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		entries := r.Body["entries"].([]any)
		require.Len(t, entries, 2)
		held := entries[1].(map[string]any)["id"].(string)
		require.Equal(t, "approved", entries[0].(map[string]any)["status"], "a plan without hold_days approves at once")

		// Bad holds change nothing.
		require.Equal(t, http.StatusBadRequest, e.admin("POST", "/v1/admin/ledger-entries/"+held+"/hold", map[string]any{"reason": " "}).Status)
		require.Equal(t, http.StatusNotFound, e.admin("POST", "/v1/admin/ledger-entries/led_nope/hold", map[string]any{"reason": "fraud"}).Status)
		require.Equal(t, http.StatusConflict, e.admin("POST", "/v1/admin/ledger-entries/"+held+"/release", map[string]any{"reason": "ok"}).Status)
		r = e.admin("POST", "/v1/admin/ledger-entries/"+held+"/hold", map[string]any{"reason": "fraud review: same device as 40 players"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "on_hold", r.Body["status"])
		bal := e.admin("GET", "/v1/admin/affiliates/"+aff+"/balance", nil).Body["balances"].([]any)[0].(map[string]any)
		require.Equal(t, []any{"200.00", "100.00", "100.00"}, []any{bal["amount"], bal["approved"], bal["on_hold"]})

		st := p.run("2026-09", 1)[aff]
		require.Equal(t, "100.00", st["amount"].(map[string]any)["amount"], "the held entry is not stated")
		payoutID := st["payout_id"].(string)
		require.Equal(t, http.StatusConflict, e.admin("POST", "/v1/admin/ledger-entries/"+entries[0].(map[string]any)["id"].(string)+"/hold", map[string]any{"reason": "x"}).Status,
			"an entry on a statement awaiting confirmation cannot be held")

		// The payment bounced: failed, with the reason; its entry is approved again and the statement keeps it as a record.
		require.Equal(t, http.StatusBadRequest, p.confirm(payoutID, nil, map[string]any{"status": "failed", "external_ref": "wire-9"}).Status, "a failure needs its reason")
		r = p.confirm(payoutID, nil, map[string]any{"status": "failed", "external_ref": "wire-9", "reason": "beneficiary account closed"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "failed", r.Body["payout"].(map[string]any)["status"])
		eventually(t, 30*time.Second, "payout.failed", func() bool { return len(operator.ofType(payout.EventFailed)) == 1 })
		failed := operator.ofType(payout.EventFailed)[0]
		require.NoError(t, verify(t, secret, failed))
		require.Equal(t, "beneficiary account closed", data(t, failed)["reason"])

		// Released, the held entry joins the failed one on October's statement.
		r = e.admin("POST", "/v1/admin/ledger-entries/"+held+"/release", map[string]any{"reason": "review cleared"})
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, "approved", r.Body["status"])
		st = p.run("2026-10", 1)[aff]
		require.Equal(t, "200.00", st["amount"].(map[string]any)["amount"])
		require.Equal(t, http.StatusOK, p.confirm(st["payout_id"].(string), nil, paid("wire-10")).Status)
		eventually(t, 30*time.Second, "payout.processed", func() bool { return len(operator.ofType(payout.EventProcessed)) == 1 })

		r = e.admin("GET", "/v1/admin/ledger-entries/"+held+"/transitions", nil)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		var moves []string
		for _, tr := range r.Body["transitions"].([]any) {
			m := tr.(map[string]any)
			moves = append(moves, m["from"].(string)+"→"+m["to"].(string)+" by "+m["actor"].(string))
		}
		require.Equal(t, []string{"pending→approved by hold", "approved→on_hold by admin", "on_hold→approved by admin", "approved→paid by payout"}, moves)
		bal = e.admin("GET", "/v1/admin/affiliates/"+aff+"/balance", nil).Body["balances"].([]any)[0].(map[string]any)
		require.Equal(t, []any{"200.00", "0.00", "200.00"}, []any{bal["amount"], bal["approved"], bal["paid"]})
	})
}

// A weekly cycle in a configured time zone: the Schedule fires Mondays at the configured time there.
func TestPayoutScheduleWeeklyInTimeZone(t *testing.T) {
	forEachStore(t, shortPolicy(3), func(t *testing.T, e *testEnv) {
		ctx := context.Background()
		h := e.app.Temporal.ScheduleClient().GetHandle(ctx, workflows.PayoutScheduleID(payout.Weekly, e.app.Config.Temporal.TaskQueue))
		desc, err := h.Describe(ctx)
		require.NoError(t, err)
		malta, err := time.LoadLocation("Europe/Malta")
		require.NoError(t, err)
		for _, next := range desc.Info.NextActionTimes {
			local := next.In(malta)
			require.Equal(t, []any{time.Monday, 7, 30}, []any{local.Weekday(), local.Hour(), local.Minute()}, next)
		}
	}, func(c *config.Config) {
		c.Payout.Cycle, c.Payout.TimeZone, c.Payout.Hour, c.Payout.Minute = payout.Weekly, "Europe/Malta", 7, 30
	})
}
