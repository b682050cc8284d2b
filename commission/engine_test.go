package commission

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/postback"
)

func day(month time.Month, d int) time.Time { return time.Date(2026, month, d, 12, 0, 0, 0, time.UTC) }

func TestPercentAndConvertRoundHalfToEven(t *testing.T) {
	for _, c := range []struct {
		amount, bp, want int64
	}{
		{5, 5000, 2},           // 2.5 → 2 (even)
		{15, 5000, 8},          // 7.5 → 8 (even)
		{-5, 5000, -2},         // -2.5 → -2
		{-15, 5000, -8},        // -7.5 → -8
		{999999, 2500, 250000}, // 249999.75 → 250000
		{10001, 2500, 2500},    // 2500.25 → 2500
		{0, 3000, 0},
	} {
		require.Equal(t, c.want, Percent(c.amount, c.bp), "%d × %d bp", c.amount, c.bp)
	}
	for _, c := range []struct {
		amount   int64
		from, to string
		rate     string
		want     int64
	}{
		{10000, "EUR", "USD", "1.08345", 10834},   // 108.345 USD → 108.34 (4 is even)
		{10001, "EUR", "USD", "1.08345", 10836},   // 108.3558... → 108.36
		{30000, "EUR", "USD", "1.08355", 32506},   // 325.065 → 325.06 (6 is even)
		{1000, "JPY", "USD", "0.0067", 670},       // ¥1000 → 6.70 USD
		{1234, "KWD", "USD", "3.25", 401},         // 1.234 KWD → 4.0105 → 4.01
		{-10000, "EUR", "USD", "1.08345", -10834}, // negative NGR converts symmetrically
		{10000, "USD", "JPY", "155.125", 15512},   // 100.00 USD → ¥15512.5 → ¥15512
	} {
		rate, err := ParseDecimal(c.rate, RateDecimals)
		require.NoError(t, err)
		got, err := Convert(c.amount, c.from, c.to, rate)
		require.NoError(t, err)
		require.Equal(t, c.want, got, "%d %s at %s", c.amount, c.from, c.rate)
	}
	_, err := Convert(1, "EUR", "XXX", 1)
	require.Error(t, err)
}

func TestParseDecimal(t *testing.T) {
	for s, want := range map[string]int64{"25": 2500, "25.5": 2550, "0.01": 1, "100.00": 10000} {
		got, err := ParseDecimal(s, 2)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
		require.Equal(t, s, FormatDecimal(got, 2)[:len(s)], "round trip of %s", s)
	}
	for _, s := range []string{"", "-1", "1.", ".5", "1.234", "1e3", "99999999999999999999"} {
		_, err := ParseDecimal(s, 2)
		require.Error(t, err, s)
	}
}

var threeTiers = []Tier{{0, 2500}, {1000000, 3000}, {5000000, 3500}} // 25% from 0, 30% from 10,000.00, 35% from 50,000.00

func TestTierCommissionAtAndAroundBoundaries(t *testing.T) {
	tiered := Plan{Type: RevShare, Tiers: threeTiers, TierMode: Tiered}
	ladder := Plan{Type: RevShare, Tiers: threeTiers, TierMode: Ladder}
	for _, c := range []struct {
		base           int64
		tiered, ladder int64
	}{
		{-50000, 0, 0},
		{0, 0, 0},
		{1, 0, 0},                   // 0.25 cent → 0
		{2, 0, 0},                   // 0.5 → 0 (even)
		{6, 2, 2},                   // 1.5 → 2 (even)
		{999999, 250000, 250000},    // 9,999.99 × 25% = 2,499.9975 → 2,500.00
		{1000000, 300000, 250000},   // tiered: the 30% tier reached on all; ladder: all of it in band 1
		{1000001, 300000, 250000},   // 10,000.01: 3,000.003 → 3,000.00; ladder 2,500.00 + 0.003
		{1500000, 450000, 400000},   // ladder: 2,500.00 + 5,000.00 × 30% = 4,000.00
		{5000000, 1750000, 1450000}, // ladder: 2,500.00 + 40,000.00 × 30% = 14,500.00
		{6000000, 2100000, 1800000}, // ladder: 14,500.00 + 10,000.00 × 35% = 18,000.00
	} {
		require.Equal(t, c.tiered, TierCommission(tiered, c.base), "tiered %d", c.base)
		require.Equal(t, c.ladder, TierCommission(ladder, c.base), "ladder %d", c.base)
	}
}

func TestCarryoverAcrossThreeMonths(t *testing.T) {
	on := Plan{ID: "p", Type: RevShare, Tiers: []Tier{{0, 2500}}, TierMode: Tiered, Carryover: true}
	off := on
	off.Carryover = false
	months := func(p Plan) []PeriodNGR {
		// Out of order on purpose: the schedule sorts by month.
		return []PeriodNGR{{"2026-11", p, 60000}, {"2026-10", p, -100000}, {"2026-12", p, 100000}}
	}
	// On: October -1,000.00 earns 0 and carries; November -1,000.00 + 600.00 = -400.00 earns 0 and carries;
	// December -400.00 + 1,000.00 = 600.00 earns 25% = 150.00.
	got := RevShareSchedule(months(on))
	require.Equal(t, []int64{0, 0, 15000}, commissions(got))
	require.Equal(t, []int64{-100000, -40000, 0}, []int64{got[0].CarriedOut, got[1].CarriedOut, got[2].CarriedOut})
	require.Equal(t, int64(15000), RevShareTotal(months(on)))
	// Off: October resets to 0; November 600.00 earns 150.00; December 1,000.00 earns 250.00.
	require.Equal(t, []int64{0, 15000, 25000}, commissions(RevShareSchedule(months(off))))
	require.Equal(t, int64(40000), RevShareTotal(months(off)))
}

func commissions(cs []PeriodCommission) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Commission
	}
	return out
}

func TestQualifies(t *testing.T) {
	reg := day(11, 1)
	dep := func(first bool, amount int64, at time.Time) Deposit {
		return Deposit{First: first, AmountMinor: amount, At: at}
	}
	minFirst := Plan{Type: CPA, CPAMinor: 20000, MinFirstDepositMinor: 5000}
	cumulative := Plan{Type: CPA, CPAMinor: 20000, CumulativeDepositMinor: 10000, WindowDays: 7}
	for _, c := range []struct {
		name     string
		plan     Plan
		deposits []Deposit
		want     bool
	}{
		{"no rules: the ftd qualifies", Plan{Type: CPA, CPAMinor: 1}, []Deposit{dep(true, 1, reg)}, true},
		{"no rules: a deposit without ftd does not", Plan{Type: CPA, CPAMinor: 1}, []Deposit{dep(false, 1, reg)}, false},
		{"first deposit 49.99 < 50.00", minFirst, []Deposit{dep(true, 4999, reg)}, false},
		{"first deposit exactly 50.00", minFirst, []Deposit{dep(true, 5000, reg)}, true},
		{"a later big deposit does not fix a small first one", minFirst, []Deposit{dep(true, 4999, reg), dep(false, 100000, reg)}, false},
		{"40 + 50 = 90.00 < 100.00", cumulative, []Deposit{dep(true, 4000, day(11, 2)), dep(false, 5000, day(11, 4))}, false},
		{"+ 10.00 on day 6 reaches 100.00", cumulative, []Deposit{dep(true, 4000, day(11, 2)), dep(false, 5000, day(11, 4)), dep(false, 1000, day(11, 7))}, true},
		{"+ 10.00 exactly 7 days after registration is outside", cumulative, []Deposit{dep(true, 4000, day(11, 2)), dep(false, 5000, day(11, 4)), dep(false, 1000, day(11, 8))}, false},
	} {
		require.Equal(t, c.want, Qualifies(c.plan, reg, c.deposits), c.name)
	}
}

func newLedger(plans ...Plan) *memLedger {
	return &memLedger{affiliateID: "aff", integrationID: "int", plans: plans, ratesE8: map[string]int64{"EUR/USD": 108345000}}
}

func ev(id, typ, player string, amount int64, at time.Time) Recorded {
	return Recorded{Event: Event{ID: id, Type: typ, PlayerID: player, AmountMinor: amount, At: at}, Currency: "USD"}
}

func undo(id, typ, original string, at time.Time) Recorded {
	r := ev(id, typ, "", 0, at)
	r.OriginalID = original
	return r
}

func TestCPAOncePerPlayerWithClawbackAfterPayout(t *testing.T) {
	plan := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 20000, MinFirstDepositMinor: 5000}
	l := newLedger(plan)
	l.parent = &Parent{AffiliateID: "parent", ShareBP: 1000} // 10%
	l.record(ev("r1", postback.Registration, "p1", 0, day(11, 1)))
	got := l.record(ev("f1", postback.FTD, "p1", 5000, day(11, 2)))
	require.Len(t, got, 2)
	require.Equal(t, Entry{
		SourceKey: "cpa:aff:int:player:p1", Kind: KindCPA, AffiliateID: "aff", AmountMinor: 20000, Currency: "USD",
		PlanID: "v1", EventID: "f1", PlayerID: "p1", At: day(11, 2),
	}, got[0])
	require.Equal(t, "sub:cpa:aff:int:player:p1", got[1].SourceKey)
	require.Equal(t, int64(2000), got[1].AmountMinor, "10% of 200.00")
	require.Equal(t, "parent", got[1].AffiliateID)
	require.Equal(t, "cpa:aff:int:player:p1", got[1].OriginalKey)

	require.Empty(t, l.record(ev("f2", postback.FTD, "p1", 9000, day(11, 3))), "a second ftd of the player earns nothing")

	// The CPA is paid out (entries are never edited); then the qualifying deposit is charged back.
	got = l.record(undo("cb1", postback.Chargeback, "f1", day(11, 20)))
	require.Len(t, got, 2)
	require.Equal(t, Entry{
		SourceKey: "clawback:cpa:aff:int:player:p1", Kind: KindCPAClawback, AffiliateID: "aff", AmountMinor: -20000,
		Currency: "USD", PlanID: "v1", EventID: "cb1", PlayerID: "p1", At: day(11, 20), OriginalKey: "cpa:aff:int:player:p1",
	}, got[0])
	require.Equal(t, int64(-2000), got[1].AmountMinor)
	require.Empty(t, l.record(undo("cb2", postback.Refund, "f1", day(11, 21))), "clawed back once")
	require.Empty(t, l.record(ev("d3", postback.Deposit, "p1", 90000, day(11, 22))), "a player qualifies once")
	require.Equal(t, int64(0), l.sum("aff"))
	require.Equal(t, int64(0), l.sum("parent"))
}

func TestCPACumulativeQualificationAndPartialChargeback(t *testing.T) {
	plan := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 15000, CumulativeDepositMinor: 10000, WindowDays: 7}
	l := newLedger(plan)
	l.record(ev("r", postback.Registration, "p", 0, day(11, 1)))
	require.Empty(t, l.record(ev("f", postback.FTD, "p", 4000, day(11, 2))))
	require.Empty(t, l.record(ev("d1", postback.Deposit, "p", 5000, day(11, 4))))
	got := l.record(ev("d2", postback.Deposit, "p", 3000, day(11, 5))) // 40 + 50 + 30 = 120.00
	require.Len(t, got, 1)
	require.Equal(t, int64(15000), got[0].AmountMinor)
	// Charging back 30.00 leaves 90.00 standing: below 100.00, so the CPA is clawed back.
	got = l.record(undo("cb", postback.Chargeback, "d2", day(11, 9)))
	require.Len(t, got, 1)
	require.Equal(t, int64(-15000), got[0].AmountMinor)

	// Another player: 60 + 50 = 110.00; charging back 10.00 of it would still leave 100.00.
	l.record(ev("r2", postback.Registration, "q", 0, day(11, 1)))
	l.record(ev("f2", postback.FTD, "q", 6000, day(11, 2)))
	l.record(ev("d4", postback.Deposit, "q", 1000, day(11, 3)))
	require.Len(t, l.record(ev("d5", postback.Deposit, "q", 4000, day(11, 3))), 1)
	require.Empty(t, l.record(undo("cb2", postback.Reversal, "d4", day(11, 9))), "still qualified: nothing clawed back")
	require.Equal(t, int64(15000), l.sum("aff"))
}

func TestCPAInAnotherCurrencyStoresTheRate(t *testing.T) {
	plan := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 10000, MinFirstDepositMinor: 10834}
	l := newLedger(plan)
	f := ev("f", postback.FTD, "p", 9999, day(11, 2)) // 99.99 EUR = 108.3339 USD → 108.33 < 108.34
	f.Currency = "EUR"
	require.Empty(t, l.record(f))
	g := ev("g", postback.FTD, "p2", 10000, day(11, 2)) // 100.00 EUR = 108.345 → 108.34 (banker's) ≥ 108.34
	g.Currency = "EUR"
	got := l.record(g)
	require.Len(t, got, 1)
	require.Equal(t, "EUR/USD=1.08345000", got[0].FXRate)
}

func TestRevShareMonthIsExactWhateverTheOrder(t *testing.T) {
	plan := Plan{ID: "v1", Type: RevShare, Currency: "USD", Tiers: threeTiers, TierMode: Tiered, Carryover: true}
	l := newLedger(plan)
	// November: 6,000.00 + 3,000.00 - 1,500.00 = 7,500.00 → 25% = 1,875.00; a late 2,600.00 lifts the
	// month to 10,100.00 → the 30% tier on all = 3,030.00.
	amounts := []int64{600000, 300000, -150000}
	var running []int64
	for i, a := range amounts {
		got := l.record(ev(string(rune('a'+i)), postback.Revenue, "p", a, day(11, 3+i)))
		require.Len(t, got, 1)
		running = append(running, got[0].AmountMinor)
	}
	require.Equal(t, []int64{150000, 75000, -37500}, running)
	require.Equal(t, int64(187500), l.sum("aff"))
	got := l.record(ev("late", postback.Revenue, "p2", 260000, day(11, 29)))
	require.Equal(t, int64(303000-187500), got[0].AmountMinor, "the tier change lands on the event that crossed it")
	require.Equal(t, int64(303000), l.sum("aff"))

	// Reversing the 3,000.00 event takes the month back to 7,100.00 → 1,775.00.
	got = l.record(undo("rev", postback.Reversal, "b", day(12, 2)))
	require.Equal(t, "2026-11", got[0].Period)
	require.Equal(t, int64(-300000), got[0].BaseMinor)
	require.Equal(t, "revshare:aff:int:event:b", got[0].OriginalKey)
	require.Equal(t, int64(177500), l.sum("aff"))
}

func TestPlanVersionAppliesFromItsEffectiveTime(t *testing.T) {
	v1 := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 10000, EffectiveFrom: day(1, 1)}
	v2 := Plan{ID: "v2", Type: Hybrid, Currency: "USD", CPAMinor: 5000, Tiers: []Tier{{0, 4000}}, TierMode: Tiered, EffectiveFrom: day(11, 15)}
	l := newLedger(v2, v1)
	a := l.record(ev("f1", postback.FTD, "p1", 100, day(11, 14)))
	b := l.record(ev("f2", postback.FTD, "p2", 100, day(11, 15)))
	require.Equal(t, []string{"v1", "v2"}, []string{a[0].PlanID, b[0].PlanID})
	require.Equal(t, []int64{10000, 5000}, []int64{a[0].AmountMinor, b[0].AmountMinor})
	require.Empty(t, l.record(ev("n1", postback.Revenue, "p1", 100000, day(11, 14))), "v1 pays no revshare")
	got := l.record(ev("n2", postback.Revenue, "p2", 100000, day(11, 16)))
	require.Equal(t, int64(40000), got[0].AmountMinor)
	_, ok := PlanAt([]Plan{v2}, day(11, 14))
	require.False(t, ok)
}

// TestRandomStreams checks, for random event streams: the report total equals the ledger sum; recording
// events again (duplicates interleaved, then the whole stream) leaves the ledger as it was; RevShare entries
// add up to the schedule of the recorded periods; a player earns at most one CPA and never a negative one.
func TestRandomStreams(t *testing.T) {
	kinds := map[string]int{}
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		plan := Plan{ID: "v1", Type: Hybrid, Currency: "USD", CPAMinor: 1 + r.Int64N(30000),
			MinFirstDepositMinor: r.Int64N(3) * 2500, CumulativeDepositMinor: r.Int64N(2) * 8000, WindowDays: r.IntN(2) * 10,
			Tiers: threeTiers, TierMode: []string{Tiered, Ladder}[r.IntN(2)], Carryover: r.IntN(2) == 0}
		if plan.CumulativeDepositMinor == 0 {
			plan.WindowDays = 0
		}
		// A second version from a random day in October or November: a month split into two periods.
		v2 := plan
		v2.ID, v2.EffectiveFrom, v2.CPAMinor = "v2", time.Date(2026, time.Month(10+r.IntN(2)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC), 1+r.Int64N(30000)
		v2.Tiers = []Tier{{0, 1000 + r.Int64N(3000)}, {100000 + r.Int64N(500000), 4000}}
		v2.TierMode, v2.Carryover = []string{Tiered, Ladder}[r.IntN(2)], r.IntN(2) == 0
		l := newLedger(plan, v2)
		l.parent = &Parent{AffiliateID: "parent", ShareBP: r.Int64N(3000)}
		types := []string{postback.Registration, postback.FTD, postback.Deposit, postback.Revenue, postback.Revenue, postback.Chargeback, postback.Reversal}
		var stream []Recorded
		for i := range 60 {
			typ := types[r.IntN(len(types))]
			c := ev("e"+string(rune('A'+i/26))+string(rune('a'+i%26)), typ, "p"+string(rune('0'+r.IntN(4))), r.Int64N(700000)-200000, time.Date(2026, time.Month(9+r.IntN(4)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC))
			if typ != postback.Revenue && c.AmountMinor < 0 {
				c.AmountMinor = -c.AmountMinor
			}
			if typ == postback.Chargeback || typ == postback.Reversal {
				if len(stream) == 0 {
					continue
				}
				c.OriginalID = stream[r.IntN(len(stream))].ID
			}
			if r.IntN(5) == 0 {
				c.Currency = "EUR"
			}
			stream = append(stream, c)
		}
		single := newLedger(plan, v2)
		single.parent = l.parent
		for i, c := range stream {
			single.record(c)
			l.record(c)
			if r.IntN(3) == 0 {
				require.Empty(t, l.record(stream[r.IntN(i+1)]), "seed %d: a duplicate wrote entries", seed)
			}
		}
		require.Equal(t, single.entries, l.entries, "seed %d", seed)
		once := append([]Entry(nil), l.entries...)
		for _, c := range stream {
			require.Empty(t, l.record(c), "seed %d: recording %s again wrote entries", seed, c.ID)
		}
		require.Equal(t, once, l.entries, "seed %d", seed)

		// RevShare entries add up to the schedule of every recorded period.
		plans := map[string]Plan{plan.ID: plan, v2.ID: v2}
		rs, _ := l.RevShareEntries()
		require.Equal(t, RevShareTotal(RevShareFrom(rs, plans).Periods), RevShareFrom(rs, plans).WrittenMinor, "seed %d", seed)
		cpaByPlayer := map[string]int64{}
		for _, e := range l.entries {
			kinds[e.Kind]++
			if e.Kind == KindCPA || e.Kind == KindCPAClawback {
				cpaByPlayer[e.PlayerID] += e.AmountMinor
				require.Contains(t, []int64{0, plan.CPAMinor, v2.CPAMinor}, cpaByPlayer[e.PlayerID], "seed %d", seed)
			}
		}
		for _, aff := range []string{"aff", "parent"} {
			var mine []Entry
			for _, e := range l.entries {
				if e.AffiliateID == aff {
					mine = append(mine, e)
				}
			}
			for _, g := range GroupBys {
				rep, err := Summarize(mine, g)
				require.NoError(t, err)
				var rows int64
				for _, row := range rep.Rows {
					rows += row.AmountMinor
				}
				var total int64
				for _, tot := range rep.Totals {
					total += tot.AmountMinor
				}
				require.Equal(t, l.sum(aff), total, "seed %d %s by %s", seed, aff, g)
				require.Equal(t, total, rows, "seed %d %s by %s", seed, aff, g)
			}
		}
	}
	for _, k := range []string{KindCPA, KindCPAClawback, KindRevShare, KindSubAffiliate} {
		require.Greater(t, kinds[k], 20, "the streams exercise %s entries", k)
	}
	t.Logf("entries by kind over all streams: %v", kinds)
}

func TestSummarize(t *testing.T) {
	entries := []Entry{
		{EventID: "b", PlayerID: "p1", At: day(11, 2), Currency: "USD", AmountMinor: 20000},
		{EventID: "a", PlayerID: "p2", At: day(11, 2), Currency: "USD", AmountMinor: 1250},
		{EventID: "c", PlayerID: "p1", At: day(11, 3), Currency: "USD", AmountMinor: -20000},
		{EventID: "c", PlayerID: "p1", At: day(11, 3), Currency: "EUR", AmountMinor: 7},
	}
	rep, err := Summarize(entries, GroupByDay)
	require.NoError(t, err)
	require.Equal(t, []ReportRow{
		{Key: "2026-11-02", Currency: "USD", Entries: 2, AmountMinor: 21250},
		{Key: "2026-11-03", Currency: "EUR", Entries: 1, AmountMinor: 7},
		{Key: "2026-11-03", Currency: "USD", Entries: 1, AmountMinor: -20000},
	}, rep.Rows)
	require.Equal(t, []Total{{Currency: "EUR", Entries: 1, AmountMinor: 7}, {Currency: "USD", Entries: 3, AmountMinor: 1250}}, rep.Totals)
	rep, _ = Summarize(entries, GroupByPlayer)
	require.Equal(t, ReportRow{Key: "p1", Currency: "USD", Entries: 2, AmountMinor: 0}, rep.Rows[1])
	_, err = Summarize(entries, "week")
	require.Error(t, err)
}

func TestAmountsThePlanIgnoresNeedNoRate(t *testing.T) {
	l := newLedger(Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 20000})
	f := ev("f", postback.FTD, "p", 5000, day(11, 2))
	f.Currency = "GBP" // no GBP/USD rate: a CPA without amount rules does not need one
	got := l.record(f)
	require.Len(t, got, 1)
	require.Equal(t, int64(20000), got[0].AmountMinor)
	require.Empty(t, got[0].FXRate)

	l = newLedger(Plan{ID: "v1", Type: RevShare, Currency: "USD", Tiers: []Tier{{0, 2500}}, TierMode: Tiered})
	n := ev("n", postback.Revenue, "p", 5000, day(11, 2))
	n.Currency = "GBP"
	_, err := Prepare(l, "aff", "int", n)
	require.ErrorContains(t, err, "no rate GBP/USD")
}

func TestUndoUsesTheVersionThatPaidTheOriginal(t *testing.T) {
	v1 := Plan{ID: "v1", Type: RevShare, Currency: "USD", Tiers: []Tier{{0, 2000}}, TierMode: Tiered}
	l := newLedger(v1)
	require.Equal(t, int64(20000), l.record(ev("n", postback.Revenue, "p", 100000, day(10, 10)))[0].AmountMinor)
	// A version added afterwards with an effective time before the original event.
	l.plans = append(l.plans, Plan{ID: "v2", Type: RevShare, Currency: "USD", Tiers: []Tier{{0, 5000}}, TierMode: Tiered, EffectiveFrom: day(10, 1)})
	got := l.record(undo("rv", postback.Reversal, "n", day(10, 20)))
	require.Equal(t, "v1", got[0].PlanID)
	require.Equal(t, int64(-20000), got[0].AmountMinor)
	require.Equal(t, int64(0), l.sum("aff"))
}

func TestCumulativeWindowFromFirstSightWithoutRegistration(t *testing.T) {
	plan := Plan{ID: "v1", Type: CPA, Currency: "USD", CPAMinor: 10000, CumulativeDepositMinor: 10000, WindowDays: 3}
	l := newLedger(plan)
	require.Empty(t, l.record(ev("d1", postback.Deposit, "p", 6000, day(11, 5)))) // first sight: the window is 5–8 Nov
	require.Len(t, l.record(ev("d2", postback.Deposit, "p", 4000, day(11, 7))), 1)
	l.record(ev("e1", postback.Deposit, "q", 6000, day(11, 5)))
	require.Empty(t, l.record(ev("e2", postback.Deposit, "q", 4000, day(11, 8))), "8 Nov 12:00 is past 3 days from 5 Nov 12:00")
	// A single deposit that reaches the amount on first sight qualifies at once.
	require.Len(t, l.record(ev("g1", postback.Deposit, "r", 10000, day(11, 5))), 1)
}
