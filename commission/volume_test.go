package commission

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/postback"
)

// fxTiers: 5.00 a lot from 0, 6.00 from 100 lots, 7.00 from 500 lots.
var fxTiers = []VolumeTier{{0, 500}, {10000, 600}, {50000, 700}}

func TestVolumeCommissionAtAndAroundTierBoundaries(t *testing.T) {
	fx := VolumeRate{Instrument: postback.InstrumentFX, Tiers: fxTiers}
	for _, c := range []struct {
		lots           int64 // hundredths
		tiered, ladder int64
	}{
		{-100, 0, 0},
		{0, 0, 0},
		{1, 5, 5},                               // 0.01 lot × 5.00 = 0.05
		{9999, 49995, 49995},                    // 99.99 lots, all in the first tier
		{10000, 60000, 50000},                   // 100 lots: tiered pays all at 6.00; ladder all in band 1
		{10001, 60006, 50006},                   // ladder: 500.00 + 0.01 × 6.00
		{49999, 299994, 289994},                 // 499.99 lots: ladder 500.00 + 399.99 × 6.00 = 2,899.94
		{50000, 350000, 290000},                 // 500 lots: tiered 3,500.00; ladder 500.00 + 2,400.00
		{60000, 420000, 360000},                 // 600 lots: ladder 2,900.00 + 100 × 7.00
		{123457, 864199, 804199},                // 1,234.57 lots × 7.00 = 8,641.99; ladder 2,900.00 + 734.57 × 7.00 = 8,041.99
		{1 << 40, 7696581394432, 7696581334432}, // no overflow far past any real month
	} {
		require.Equal(t, c.tiered, VolumeCommission(fx, Tiered, c.lots), "tiered %d", c.lots)
		require.Equal(t, c.ladder, VolumeCommission(fx, Ladder, c.lots), "ladder %d", c.lots)
	}
	// One rounding, half to even: 0.01 lot at 0.50 is half a cent → 0; 0.03 lots is 1.5 cents → 2.
	half := VolumeRate{Tiers: []VolumeTier{{0, 50}}}
	require.Equal(t, int64(0), VolumeCommission(half, "", 1))
	require.Equal(t, int64(2), VolumeCommission(half, "", 3))
	require.Equal(t, int64(2), VolumeCommission(half, "", 5)) // 2.5 → 2
}

func volumePlan(id string, from time.Time, mode string, rates ...VolumeRate) Plan {
	return Plan{ID: id, Type: Volume, Currency: "USD", EffectiveFrom: from, TierMode: mode, VolumeRates: rates}
}

func tradeEv(id string, lots int64, instrument string, at time.Time) Recorded {
	r := ev(id, postback.Trade, "client-1", 0, at)
	r.VolumeLots, r.Instrument = lots, instrument
	return r
}

func amounts(entries []Entry) []int64 {
	out := make([]int64, len(entries))
	for i, e := range entries {
		out[i] = e.AmountMinor
	}
	return out
}

// TestVolumeMonth follows one month: a tier crossed mid-month lifts the month's earlier lots, a reversal
// across the tier takes it back, a class the plan does not list counts under "*", a plan version from the
// 20th starts a new period, and a reversal after the change is undone under the version that paid the trade.
func TestVolumeMonth(t *testing.T) {
	v1 := volumePlan("v1", day(11, 1).Add(-12*time.Hour), Tiered,
		VolumeRate{postback.InstrumentFX, fxTiers}, VolumeRate{AnyInstrument, []VolumeTier{{0, 200}}})
	v2 := volumePlan("v2", day(11, 20).Add(-12*time.Hour), "", VolumeRate{postback.InstrumentFX, []VolumeTier{{0, 800}}})
	l := newLedger(v1, v2)
	steps := []struct {
		event Recorded
		want  []int64
	}{
		{tradeEv("t1", 6000, "fx", day(11, 2)), []int64{30000}},    // 60 lots × 5.00
		{tradeEv("t2", 1000, "metals", day(11, 5)), []int64{2000}}, // 10 lots at the "*" rate 2.00
		{tradeEv("t3", 5000, "fx", day(11, 10)), []int64{36000}},   // 110 lots × 6.00 = 660.00, 300.00 written
		{undo("r3", postback.Reversal, "t3", day(11, 12)), []int64{-36000}},
		{tradeEv("t4", 4500, "fx", day(11, 14)), []int64{33000}},            // 105 lots × 6.00 = 630.00
		{tradeEv("t5", 1000, "fx", day(11, 21)), []int64{8000}},             // v2: a new period, 10 lots × 8.00
		{undo("r1", postback.Reversal, "t1", day(11, 25)), []int64{-40500}}, // v1 fx back to 45 lots × 5.00 = 225.00
		{tradeEv("t2", 1000, "metals", day(11, 5)), []int64{}},              // a duplicate writes nothing
	}
	for _, s := range steps {
		got := l.record(s.event)
		require.Equal(t, s.want, amounts(got), s.event.ID)
		for _, e := range got {
			require.Equal(t, KindVolume, e.Kind)
			require.Equal(t, "2026-11", e.Period)
		}
	}
	// Independently: v1 fx 45 lots × 5.00, v1 "*" 10 lots × 2.00, v2 fx 10 lots × 8.00.
	require.Equal(t, int64(22500+2000+8000), l.sum("aff"))
	r1, _ := l.EventEntries("r1")
	require.Equal(t, "v1", r1[0].PlanID)
	require.Equal(t, int64(-6000), r1[0].BaseMinor)
	require.Equal(t, "volume:aff:int:event:t1", r1[0].OriginalKey)
	period, _ := l.VolumePeriod("2026-11", "v1", postback.InstrumentFX)
	require.Equal(t, VolumePeriod{Period: "2026-11", PlanID: "v1", Instrument: "fx", Lots: 4500, WrittenMinor: 22500}, period)
}

func TestVolumeWhatEarnsNothing(t *testing.T) {
	fxOnly := volumePlan("v1", time.Time{}, "", VolumeRate{postback.InstrumentFX, []VolumeTier{{0, 500}}})
	l := newLedger(fxOnly)
	require.Empty(t, l.record(tradeEv("t1", 100, "crypto", day(11, 2))), "a class the plan does not pay, no *")
	require.Empty(t, l.record(tradeEv("t2", 100, "", day(11, 2))), "no class, no *")
	require.Empty(t, l.record(undo("r1", postback.Reversal, "t1", day(11, 3))), "undoing what earned nothing")
	require.Empty(t, l.record(ev("d1", postback.FTD, "client-1", 5000, day(11, 3))), "a deposit under a volume plan")

	cpa := newLedger(Plan{ID: "c", Type: CPA, Currency: "USD", CPAMinor: 1000})
	require.Empty(t, cpa.record(tradeEv("t1", 100, "fx", day(11, 2))), "a trade under a CPA plan")
}

func TestVolumeSubAffiliateShare(t *testing.T) {
	l := newLedger(volumePlan("v1", time.Time{}, "", VolumeRate{AnyInstrument, []VolumeTier{{0, 333}}}))
	l.parent = &Parent{AffiliateID: "parent", ShareBP: 1000}
	got := l.record(tradeEv("t1", 150, "fx", day(11, 2))) // 1.5 lots × 3.33 = 4.995 → 5.00 (half-even of 499.5 → 500)
	require.Equal(t, []int64{500, 50}, amounts(got))
	require.Equal(t, KindSubAffiliate, got[1].Kind)
	require.Equal(t, "", got[1].Instrument)
}

// TestVolumeOrderDoesNotMatter: whatever order a month's trades arrive in, the entries add up to what the
// month's lots earn, in both tier modes.
func TestVolumeOrderDoesNotMatter(t *testing.T) {
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 11))
		mode := []string{Tiered, Ladder}[r.IntN(2)]
		l := newLedger(volumePlan("v1", time.Time{}, mode, VolumeRate{AnyInstrument, fxTiers}))
		var total int64
		trades := make([]Recorded, 20)
		for i := range trades {
			lots := 1 + r.Int64N(8000)
			total += lots
			trades[i] = tradeEv("t"+string(rune('a'+i)), lots, "", day(11, 1+r.IntN(28)))
		}
		r.Shuffle(len(trades), func(i, j int) { trades[i], trades[j] = trades[j], trades[i] })
		for _, tr := range trades {
			l.record(tr)
		}
		require.Equal(t, VolumeCommission(VolumeRate{Tiers: fxTiers}, mode, total), l.sum("aff"), "seed %d", seed)
	}
}

func TestVolumePlanValidate(t *testing.T) {
	ok := volumePlan("v", time.Time{}, Tiered, VolumeRate{"fx", fxTiers}, VolumeRate{AnyInstrument, []VolumeTier{{0, 100}}})
	field, msg := ok.Validate()
	require.Empty(t, field, msg)
	flat := volumePlan("v", time.Time{}, "", VolumeRate{"metals", []VolumeTier{{0, 100}}})
	field, msg = flat.Validate()
	require.Empty(t, field, "one tier needs no tier_mode: %s", msg)

	for _, c := range []struct {
		name  string
		edit  func(p *Plan)
		field string
	}{
		{"no rates", func(p *Plan) { p.VolumeRates = nil }, "volume_rates"},
		{"unknown class", func(p *Plan) { p.VolumeRates[0].Instrument = "bonds" }, "volume_rates[0].instrument"},
		{"empty class", func(p *Plan) { p.VolumeRates[0].Instrument = "" }, "volume_rates[0].instrument"},
		{"class twice", func(p *Plan) { p.VolumeRates[1].Instrument = "fx" }, "volume_rates[1].instrument"},
		{"no tiers", func(p *Plan) { p.VolumeRates[1].Tiers = nil }, "volume_rates[1].tiers"},
		{"first tier not at 0", func(p *Plan) { p.VolumeRates[1].Tiers = []VolumeTier{{5, 1}} }, "volume_rates[1].tiers[0].from_lots"},
		{"tiers not ascending", func(p *Plan) { p.VolumeRates[0].Tiers = []VolumeTier{{0, 1}, {100, 2}, {100, 3}} }, "volume_rates[0].tiers[2].from_lots"},
		{"negative rate", func(p *Plan) { p.VolumeRates[0].Tiers = []VolumeTier{{0, -1}} }, "volume_rates[0].tiers[0].rate"},
		{"several tiers, no mode", func(p *Plan) { p.TierMode = "" }, "tier_mode"},
		{"unknown mode", func(p *Plan) { p.TierMode = "flat" }, "tier_mode"},
		{"a CPA too", func(p *Plan) { p.CPAMinor = 100 }, "amount"},
		{"revshare tiers", func(p *Plan) { p.Tiers = threeTiers }, "tiers"},
		{"carryover", func(p *Plan) { p.Carryover = true }, "carryover"},
		{"volume rates on a hybrid plan", func(p *Plan) { p.Type, p.CPAMinor, p.Tiers = Hybrid, 100, threeTiers }, "volume_rates"},
	} {
		p := ok
		p.VolumeRates = []VolumeRate{{"fx", fxTiers}, {AnyInstrument, []VolumeTier{{0, 100}}}}
		c.edit(&p)
		field, msg := p.Validate()
		require.Equal(t, c.field, field, "%s: %s", c.name, msg)
		require.NotEmpty(t, msg, c.name)
	}
}

func TestParseVolumeRates(t *testing.T) {
	in := []VolumeRateText{{Instrument: "fx", Tiers: []VolumeTierText{{"0", "5"}, {"100.5", "6.25"}}}}
	rates, field, msg := ParseVolumeRates(in, "USD")
	require.Empty(t, field, msg)
	require.Equal(t, []VolumeRate{{"fx", []VolumeTier{{0, 500}, {10050, 625}}}}, rates)
	require.Equal(t, []VolumeRateText{{Instrument: "fx", Tiers: []VolumeTierText{{"0.00", "5.00"}, {"100.50", "6.25"}}}}, FormatVolumeRates(rates, "USD"))
	for _, c := range []struct {
		tier      VolumeTierText
		currency  string
		field     string
		substring string
	}{
		{VolumeTierText{"1.255", "5"}, "USD", "volume_rates[0].tiers[0].from_lots", "more than 2 decimal places"},
		{VolumeTierText{"-1", "5"}, "USD", "volume_rates[0].tiers[0].from_lots", "must not be negative"},
		{VolumeTierText{"", "5"}, "USD", "volume_rates[0].tiers[0].from_lots", "empty"},
		{VolumeTierText{"0", "5.001"}, "USD", "volume_rates[0].tiers[0].rate", "decimal places"},
		{VolumeTierText{"0", "5.5"}, "JPY", "volume_rates[0].tiers[0].rate", "JPY has none"},
	} {
		_, field, msg := ParseVolumeRates([]VolumeRateText{{Instrument: "fx", Tiers: []VolumeTierText{c.tier}}}, c.currency)
		require.Equal(t, c.field, field, c.tier)
		require.Contains(t, msg, c.substring, c.tier)
	}
}

// FuzzParseVolumeRates: volume rates from any JSON either fail naming a field, or make a plan that Validate
// judges; a valid plan's rates format and parse back to themselves, and what a month earns never falls as
// lots grow (ladder) and matches exact arithmetic (tiered).
func FuzzParseVolumeRates(f *testing.F) {
	for _, s := range []string{
		`[{"instrument":"fx","tiers":[{"from_lots":"0","rate":"5"},{"from_lots":"100","rate":"6.5"}]}]`,
		`[{"instrument":"*","tiers":[{"from_lots":"0","rate":"0.01"}]}]`,
		`[{"instrument":"fx","tiers":[{"from_lots":"0","rate":"5"}]},{"instrument":"fx","tiers":[]}]`,
		`[{"instrument":"bonds","tiers":[{"from_lots":"1.234","rate":"-1"}]}]`,
		`[]`, `[{}]`,
	} {
		f.Add(s, "USD", int64(12345))
	}
	f.Add(`[{"instrument":"metals","tiers":[{"from_lots":"0","rate":"500"}]}]`, "JPY", int64(1))
	f.Fuzz(func(t *testing.T, data, currency string, lots int64) {
		var text []VolumeRateText
		if json.Unmarshal([]byte(data), &text) != nil || len(text) > 10 {
			return
		}
		rates, field, msg := ParseVolumeRates(text, currency)
		if field != "" {
			require.NotEmpty(t, msg)
			return
		}
		p := Plan{Type: Volume, Currency: currency, TierMode: Ladder, VolumeRates: rates}
		if field, _ := p.Validate(); field != "" {
			return
		}
		back, field, msg := ParseVolumeRates(FormatVolumeRates(rates, currency), currency)
		require.Empty(t, field, msg)
		require.Equal(t, rates, back)
		lots = lots % (1 << 30)
		for _, r := range rates {
			if slices.ContainsFunc(r.Tiers, func(t VolumeTier) bool { return t.RateMinor > 1<<20 }) {
				continue // keep lots × rate within int64 for the check
			}
			require.LessOrEqual(t, VolumeCommission(r, Ladder, lots), VolumeCommission(r, Ladder, lots+1))
			rate := r.Tiers[0].RateMinor
			for _, tier := range r.Tiers {
				if lots >= tier.FromLots {
					rate = tier.RateMinor
				}
			}
			if lots > 0 {
				exact := new(big.Rat).SetFrac(big.NewInt(lots*rate), big.NewInt(100))
				got := new(big.Rat).SetInt64(VolumeCommission(r, Tiered, lots))
				diff := new(big.Rat).Abs(new(big.Rat).Sub(got, exact))
				require.LessOrEqual(t, diff.Cmp(big.NewRat(1, 2)), 0, "tiered %d lots at %d", lots, rate)
			}
		}
	})
}
