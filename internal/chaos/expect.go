package chaos

// The harness's own computation of what each affiliate earned, written from the rules in docs/commissions.md
// for the run's simple plans, without the commission package:
//
//   - CPA (cpa, hybrid): a player's ftd of at least the minimum first deposit pays the CPA amount once; a
//     chargeback of that ftd, when it is the player's only deposit, leaves no standing first deposit and claws
//     the CPA back. A chargeback of another deposit leaves the ftd standing: nothing changes.
//   - RevShare (revshare, hybrid): each calendar month (UTC) of the events' occurred_at is a period; its NGR
//     is the sum of its revenue events, less those charged back (a chargeback takes its original's NGR out of
//     the original's month). A period earns the percentage of a positive NGR, rounded half to even once; a
//     zero or negative NGR earns nothing, and with carryover off nothing is carried.
//
// Only acknowledged events count: an event never acknowledged may or may not have been recorded.
func expectedLedger(evs []event, kindOf func(affiliate int) string, acked func(i int) bool) map[int]int64 {
	chargedBack := map[int]bool{}
	for i, e := range evs {
		if e.Type == "chargeback" && e.Original >= 0 && acked(i) {
			chargedBack[e.Original] = true
		}
	}
	type period struct {
		affiliate int
		month     string
	}
	ngr := map[period]int64{}
	out := map[int]int64{}
	for i, e := range evs {
		if !acked(i) {
			continue
		}
		kind := kindOf(e.Affiliate)
		switch {
		case e.Type == "ftd" && kind != kindRevShare && e.Amount >= cpaMinFirstDeposit:
			out[e.Affiliate] += cpaAmount
			if chargedBack[i] {
				out[e.Affiliate] -= cpaAmount
			}
		case e.Type == "revenue" && kind != kindCPA && !chargedBack[i]:
			ngr[period{e.Affiliate, e.OccurredAt.UTC().Format("2006-01")}] += e.Amount
		}
	}
	for p, v := range ngr {
		if v > 0 {
			out[p.affiliate] += percentHalfEven(v, revSharePercent)
		}
	}
	return out
}

// percentHalfEven is v × pct / 100 for v ≥ 0, rounded half to even.
func percentHalfEven(v, pct int64) int64 {
	q, r := v*pct/100, v*pct%100
	switch {
	case 2*r > 100, 2*r == 100 && q%2 == 1:
		q++
	}
	return q
}
