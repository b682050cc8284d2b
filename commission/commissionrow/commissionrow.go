// Package commissionrow is the one mapping between the store's rows and the commission engine's types.
package commissionrow

import (
	"encoding/json"
	"fmt"

	"github.com/affrelay/affrelay/commission"
	"github.com/affrelay/affrelay/store"
)

// tier is how a RevShare tier is stored in store.Plan.Tiers.
type tier struct {
	FromMinor int64 `json:"from_minor"`
	RateBP    int64 `json:"rate_bp"`
}

// volumeRate is how a volume plan's rate of one instrument is stored in store.Plan.VolumeRates.
type volumeRate struct {
	Instrument string       `json:"instrument"`
	Tiers      []volumeTier `json:"tiers"`
}

type volumeTier struct {
	FromLots  int64 `json:"from_lots"`
	RateMinor int64 `json:"rate_minor"`
}

// Plan turns a stored plan version into the engine's.
func Plan(p store.Plan) (commission.Plan, error) {
	cp := commission.Plan{
		ID: p.ID, Type: p.Type, Currency: p.Currency, EffectiveFrom: p.EffectiveFrom, CPAMinor: p.AmountMinor,
		MinFirstDepositMinor: p.MinFirstDepositMinor, CumulativeDepositMinor: p.CumulativeDepositMinor,
		WindowDays: p.WindowDays, TierMode: p.TierMode, Carryover: p.Carryover,
	}
	if p.VolumeRates != "" {
		var rates []volumeRate
		if err := json.Unmarshal([]byte(p.VolumeRates), &rates); err != nil {
			return cp, fmt.Errorf("plan %s: volume rates: %w", p.ID, err)
		}
		for _, r := range rates {
			rate := commission.VolumeRate{Instrument: r.Instrument}
			for _, t := range r.Tiers {
				rate.Tiers = append(rate.Tiers, commission.VolumeTier(t))
			}
			cp.VolumeRates = append(cp.VolumeRates, rate)
		}
	}
	if p.Tiers == "" {
		return cp, nil
	}
	var tiers []tier
	if err := json.Unmarshal([]byte(p.Tiers), &tiers); err != nil {
		return cp, fmt.Errorf("plan %s: tiers: %w", p.ID, err)
	}
	for _, t := range tiers {
		cp.Tiers = append(cp.Tiers, commission.Tier(t))
	}
	return cp, nil
}

// Plans turns stored plan versions into the engine's, in the same order.
func Plans(rows []store.Plan) ([]commission.Plan, error) {
	plans := make([]commission.Plan, 0, len(rows))
	for _, r := range rows {
		p, err := Plan(r)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// Tiers is the stored form of RevShare tiers ("" for none).
func Tiers(tiers []commission.Tier) string {
	if len(tiers) == 0 {
		return ""
	}
	stored := make([]tier, len(tiers))
	for i, t := range tiers {
		stored[i] = tier(t)
	}
	b, _ := json.Marshal(stored) // two int64 fields cannot fail to marshal
	return string(b)
}

// VolumeRates is the stored form of a volume plan's rates ("" for none).
func VolumeRates(rates []commission.VolumeRate) string {
	if len(rates) == 0 {
		return ""
	}
	stored := make([]volumeRate, len(rates))
	for i, r := range rates {
		stored[i] = volumeRate{Instrument: r.Instrument, Tiers: make([]volumeTier, len(r.Tiers))}
		for j, t := range r.Tiers {
			stored[i].Tiers[j] = volumeTier(t)
		}
	}
	b, _ := json.Marshal(stored) // strings and int64s cannot fail to marshal
	return string(b)
}

// Entry turns a stored ledger entry into the engine's.
func Entry(e store.LedgerEntry) commission.Entry {
	return commission.Entry{
		SourceKey: e.SourceKey, Kind: e.Kind, AffiliateID: e.AffiliateID, AmountMinor: e.AmountMinor,
		Currency: e.Currency, PlanID: e.PlanID, EventID: e.EventID, PlayerID: e.PlayerID, At: e.EventAt.UTC(),
		FXRate: e.FXRate, Period: e.Period, BaseMinor: e.BaseMinor, OriginalKey: e.OriginalKey, Instrument: e.Instrument,
	}
}

// Entries turns stored ledger entries into the engine's, in the same order.
func Entries(rows []store.LedgerEntry) []commission.Entry {
	out := make([]commission.Entry, len(rows))
	for i, r := range rows {
		out[i] = Entry(r)
	}
	return out
}

// LedgerRow is the row that stores an engine entry of a conversion; id is the new row's id.
func LedgerRow(id, conversionID string, e commission.Entry) store.LedgerEntry {
	return store.LedgerEntry{
		ID: id, AffiliateID: e.AffiliateID, SourceKey: e.SourceKey, ConversionID: conversionID,
		Kind: e.Kind, AmountMinor: e.AmountMinor, Currency: e.Currency, PlanID: e.PlanID, EventID: e.EventID,
		PlayerID: e.PlayerID, EventAt: e.At, FXRate: e.FXRate, Period: e.Period, BaseMinor: e.BaseMinor,
		OriginalKey: e.OriginalKey, Instrument: e.Instrument,
	}
}

// Recorded turns a stored conversion into the engine's recorded event.
func Recorded(c store.Conversion) commission.Recorded {
	return commission.Recorded{
		Event: commission.Event{
			ID: c.EventID, Type: c.Event, PlayerID: c.PlayerID, AmountMinor: c.AmountMinor, At: c.OccurredAt.UTC(),
			VolumeLots: c.VolumeLots, Instrument: c.Instrument, FromReconciliation: c.FromReconciliation(),
		},
		Currency: c.Currency, OriginalID: c.OriginalEventID,
	}
}

// RecordedAll turns stored conversions into the engine's recorded events, in the same order.
func RecordedAll(rows []store.Conversion) []commission.Recorded {
	out := make([]commission.Recorded, len(rows))
	for i, r := range rows {
		out[i] = Recorded(r)
	}
	return out
}

// RevSharePeriods turns the stored RevShare sums into the summed entries the engine reads them as.
func RevSharePeriods(rows []store.RevSharePeriod) []commission.Entry {
	out := make([]commission.Entry, len(rows))
	for i, r := range rows {
		out[i] = commission.Entry{Kind: commission.KindRevShare, Period: r.Period, PlanID: r.PlanID, BaseMinor: r.NGRMinor, AmountMinor: r.WrittenMinor}
	}
	return out
}
