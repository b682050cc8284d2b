package commission

import (
	"sort"
	"time"
)

// A RevShare period is one calendar month (UTC) under one plan version: a plan change in the middle of a
// month starts a new period, so every revenue event is paid by the version in force when it happened.

// PeriodOf names the month an event at t falls in, "2026-11".
func PeriodOf(t time.Time) string { return t.UTC().Format("2006-01") }

// PeriodNGR is the net gaming revenue recorded so far in one period, in the plan's currency.
type PeriodNGR struct {
	Period string
	Plan   Plan
	NGR    int64
}

// PeriodCommission is what one period earns: Base is the period's NGR plus the negative balance carried in.
type PeriodCommission struct {
	PeriodNGR
	CarriedIn  int64
	Base       int64
	Commission int64
	CarriedOut int64
}

// RevShareSchedule computes every period in order (month, then plan version). A period whose base is
// negative earns nothing; with carryover on its base is carried into the next period, with it off the
// next period starts from zero.
func RevShareSchedule(periods []PeriodNGR) []PeriodCommission {
	sorted := append([]PeriodNGR(nil), periods...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Period != sorted[j].Period {
			return sorted[i].Period < sorted[j].Period
		}
		return sorted[i].Plan.EffectiveFrom.Before(sorted[j].Plan.EffectiveFrom)
	})
	out := make([]PeriodCommission, len(sorted))
	var carry int64
	for i, p := range sorted {
		c := PeriodCommission{PeriodNGR: p, CarriedIn: carry, Base: carry + p.NGR}
		c.Commission = TierCommission(p.Plan, c.Base)
		if c.Base < 0 && p.Plan.Carryover {
			c.CarriedOut = c.Base
		}
		carry = c.CarriedOut
		out[i] = c
	}
	return out
}

// RevShareTotal is the sum of every period's commission.
func RevShareTotal(periods []PeriodNGR) int64 {
	var total int64
	for _, c := range RevShareSchedule(periods) {
		total += c.Commission
	}
	return total
}

// TierCommission is the commission on a period base under the plan's tiers; a base of zero or less earns
// nothing. Ladder sums each band's share before the one rounding.
func TierCommission(p Plan, base int64) int64 {
	bands := make([]band, len(p.Tiers))
	for i, t := range p.Tiers {
		bands[i] = band{from: t.FromMinor, rate: t.RateBP}
	}
	return banded(bands, p.TierMode, base, 10000) // rates are basis points
}

// band is one tier of a rate: from (inclusive) on, rate per scale units of the base.
type band struct{ from, rate int64 }

// banded is base × rate / scale under tiers: ladder pays each band of the base at its band's rate, any other
// mode pays the whole base at the rate of the highest band reached. A base of zero or less earns nothing;
// one rounding, half to even, after summing.
func banded(bands []band, mode string, base, scale int64) int64 {
	if base <= 0 || len(bands) == 0 {
		return 0
	}
	if mode == Ladder {
		var weighted int64 // Σ band width × rate
		for i, b := range bands {
			if base <= b.from {
				break
			}
			top := base
			if i+1 < len(bands) && bands[i+1].from < base {
				top = bands[i+1].from
			}
			weighted += (top - b.from) * b.rate
		}
		return MulDivRound(weighted, 1, scale)
	}
	rate := bands[0].rate
	for _, b := range bands {
		if base >= b.from {
			rate = b.rate
		}
	}
	return MulDivRound(base, rate, scale)
}
