package commission

import (
	"fmt"
	"slices"
	"strings"

	"github.com/affrelay/affrelay/money"
	"github.com/affrelay/affrelay/postback"
)

// A volume plan pays per lot traded (trade events). Each instrument class the plan lists has its own rate,
// tiered by the lots of that class in the month; AnyInstrument pays every other trade, pooled. Like RevShare,
// a period is one calendar month (UTC) under one plan version and instrument rate, and each trade writes the
// difference between what its period now earns and what was written for it before: a tier reached mid-month
// lifts the month's earlier lots too (tier mode tiered), and a reversal that drops the month below a tier
// takes that back. No true-up at month end is needed, whatever order trades and reversals arrive in.

// AnyInstrument keys the rate of a volume plan that pays trades of the classes it does not list, and trades
// that name no class.
const AnyInstrument = "*"

// VolumeTier is one band of a per-lot rate: from FromLots (hundredths of a lot, inclusive) on, RateMinor (plan
// currency) per lot.
type VolumeTier struct {
	FromLots  int64
	RateMinor int64
}

// VolumeRate is what a volume plan pays per lot of one instrument class (or AnyInstrument). Tiers ascend by
// FromLots; the first starts at 0.
type VolumeRate struct {
	Instrument string
	Tiers      []VolumeTier
}

// VolumePeriod is the lots recorded so far in one period (month, plan version, rate's instrument) and what
// was written for them.
type VolumePeriod struct {
	Period       string
	PlanID       string
	Instrument   string
	Lots         int64
	WrittenMinor int64
}

// HasVolume reports whether the plan pays per lot.
func (p Plan) HasVolume() bool { return p.Type == Volume && len(p.VolumeRates) > 0 }

// VolumeRateFor returns the rate a trade of the instrument class is paid at: the class's own, else the
// AnyInstrument rate; ok is false when the plan pays that class nothing.
func (p Plan) VolumeRateFor(instrument string) (VolumeRate, bool) {
	var fallback *VolumeRate
	for i, r := range p.VolumeRates {
		if r.Instrument == instrument && instrument != "" {
			return r, true
		}
		if r.Instrument == AnyInstrument {
			fallback = &p.VolumeRates[i]
		}
	}
	if fallback == nil {
		return VolumeRate{}, false
	}
	return *fallback, true
}

// VolumeCommission is what lots (hundredths of a lot) of one period earn at the rate, in the plan's minor
// units: tiered pays every lot at the rate of the highest tier reached, ladder pays each band at its own
// rate. Lots of zero or less earn nothing. One rounding, half to even.
func VolumeCommission(r VolumeRate, mode string, lots int64) int64 {
	bands := make([]band, len(r.Tiers))
	for i, t := range r.Tiers {
		bands[i] = band{from: t.FromLots, rate: t.RateMinor}
	}
	return banded(bands, mode, lots, 100) // rates are per lot, lots are hundredths
}

// validateVolume checks a volume plan's rates, naming fields as the admin API spells them.
func (p Plan) validateVolume() (field, message string) {
	switch {
	case p.CPAMinor != 0 || p.MinFirstDepositMinor != 0 || p.CumulativeDepositMinor != 0 || p.WindowDays != 0:
		return "amount", "a volume plan pays per lot, no CPA"
	case len(p.Tiers) > 0:
		return "tiers", "a volume plan's tiers are given per instrument in volume_rates"
	case p.Carryover:
		return "carryover", "a volume plan carries nothing over"
	case len(p.VolumeRates) == 0:
		return "volume_rates", "must list at least one instrument's rate"
	}
	if p.TierMode != "" && p.TierMode != Tiered && p.TierMode != Ladder {
		return "tier_mode", fmt.Sprintf("%q is not tiered or ladder", p.TierMode)
	}
	classes := append([]string{AnyInstrument}, postback.InstrumentClasses...)
	for i, r := range p.VolumeRates {
		name := fmt.Sprintf("volume_rates[%d]", i)
		if !slices.Contains(classes, r.Instrument) {
			return name + ".instrument", fmt.Sprintf("%q is not one of %s", r.Instrument, strings.Join(classes, ", "))
		}
		for _, earlier := range p.VolumeRates[:i] {
			if earlier.Instrument == r.Instrument {
				return name + ".instrument", fmt.Sprintf("%q is listed twice", r.Instrument)
			}
		}
		if len(r.Tiers) == 0 {
			return name + ".tiers", "must list at least one tier"
		}
		if len(r.Tiers) > 1 && p.TierMode == "" {
			return "tier_mode", "is required (tiered or ladder) when an instrument has more than one tier"
		}
		for j, t := range r.Tiers {
			tier := fmt.Sprintf("%s.tiers[%d]", name, j)
			if j == 0 && t.FromLots != 0 {
				return tier + ".from_lots", "must be 0"
			}
			if j > 0 && t.FromLots <= r.Tiers[j-1].FromLots {
				return tier + ".from_lots", "must be above the previous tier's"
			}
			if t.RateMinor < 0 {
				return tier + ".rate", "must not be negative"
			}
		}
	}
	return "", ""
}

// VolumeChange is what a trade, or the reversal of one, adds to a period: lots (negative to take away), the
// period's keys, and for a reversal the key of the entry it undoes.
type VolumeChange struct {
	Period, Instrument string
	Lots               int64
	OriginalKey        string
}

// VolumeChangeOf says which volume period the event changes, and by how much; ok is false when it changes
// none (not a trade or a trade's undoing, a plan that does not pay per lot, a class the plan pays nothing).
func VolumeChangeOf(in Input) (c VolumeChange, ok bool) {
	if !in.Plan.HasVolume() {
		return c, false
	}
	if in.Event.Type == postback.Trade {
		r, ok := in.Plan.VolumeRateFor(in.Event.Instrument)
		return VolumeChange{Period: PeriodOf(in.Event.At), Instrument: r.Instrument, Lots: in.Event.VolumeLots}, ok
	}
	if in.Original == nil || in.Original.Event.Type != postback.Trade {
		return c, false
	}
	for _, e := range in.Original.Entries {
		if e.Kind == KindVolume && e.AffiliateID == in.AffiliateID {
			return VolumeChange{Period: e.Period, Instrument: e.Instrument, Lots: -e.BaseMinor, OriginalKey: e.SourceKey}, true
		}
	}
	return c, false
}

// volumeEntry adds the change's lots to its period and writes the difference between what the period now
// earns and what was written for it before. in.Volume is that period so far.
func volumeEntry(in Input) []Entry {
	c, ok := VolumeChangeOf(in)
	if !ok {
		return nil
	}
	r, _ := in.Plan.VolumeRateFor(c.Instrument)
	earned := VolumeCommission(r, in.Plan.TierMode, in.Volume.Lots+c.Lots)
	e := in.entry(KindVolume, earned-in.Volume.WrittenMinor)
	e.SourceKey = "volume:" + in.AffiliateID + ":" + in.IntegrationID + ":event:" + in.Event.ID
	e.Period, e.BaseMinor, e.Instrument, e.OriginalKey = c.Period, c.Lots, c.Instrument, c.OriginalKey
	return []Entry{e}
}

// VolumeRateText is a volume rate as the admin API reads and writes it: lots and money as decimal strings.
type VolumeRateText struct {
	Instrument string           `json:"instrument"`
	Tiers      []VolumeTierText `json:"tiers"`
}

// VolumeTierText is one tier of a VolumeRateText: from from_lots lots on, rate (plan currency) per lot.
type VolumeTierText struct {
	FromLots string `json:"from_lots"`
	Rate     string `json:"rate"`
}

// ParseVolumeRates reads the admin API's volume rates in the plan's currency. On failure field names the
// wrong value ("volume_rates[0].tiers[1].rate") and message says why; the plan's rules are Validate's.
func ParseVolumeRates(rates []VolumeRateText, currency string) (out []VolumeRate, field, message string) {
	for i, r := range rates {
		rate := VolumeRate{Instrument: r.Instrument, Tiers: make([]VolumeTier, len(r.Tiers))}
		for j, t := range r.Tiers {
			name := fmt.Sprintf("volume_rates[%d].tiers[%d]", i, j)
			lots, err := postback.ParseLots(t.FromLots)
			if err != nil {
				return nil, name + ".from_lots", "is lots with at most 2 decimal places: " + err.Error()
			}
			if lots < 0 {
				return nil, name + ".from_lots", "must not be negative"
			}
			perLot, err := money.Parse(t.Rate, currency)
			if err != nil {
				return nil, name + ".rate", "is an amount per lot: " + err.Error()
			}
			rate.Tiers[j] = VolumeTier{FromLots: lots, RateMinor: perLot}
		}
		out = append(out, rate)
	}
	return out, "", ""
}

// FormatVolumeRates is the inverse of ParseVolumeRates.
func FormatVolumeRates(rates []VolumeRate, currency string) []VolumeRateText {
	out := make([]VolumeRateText, len(rates))
	for i, r := range rates {
		out[i] = VolumeRateText{Instrument: r.Instrument, Tiers: make([]VolumeTierText, len(r.Tiers))}
		for j, t := range r.Tiers {
			out[i].Tiers[j] = VolumeTierText{FromLots: postback.FormatLots(t.FromLots), Rate: money.Format(t.RateMinor, currency)}
		}
	}
	return out
}
