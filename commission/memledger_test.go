package commission

import (
	"fmt"
	"time"
)

// memLedger is the ledger and conversions table in memory: the same Prepare → Calculate → insert-if-new path
// the activity runs against the database.
type memLedger struct {
	affiliateID, integrationID string
	plans                      []Plan
	parent                     *Parent
	ratesE8                    map[string]int64 // "EUR/USD" → rate, one rate for all times
	conversions                []Recorded
	entries                    []Entry
}

func (l *memLedger) Plans() ([]Plan, error)   { return l.plans, nil }
func (l *memLedger) Parent() (*Parent, error) { return l.parent, nil }
func (l *memLedger) Conversion(id string) (Recorded, bool, error) {
	for _, c := range l.conversions {
		if c.ID == id {
			return c, true, nil
		}
	}
	return Recorded{}, false, nil
}
func (l *memLedger) PlayerConversions(player string) ([]Recorded, error) {
	var out []Recorded
	for _, c := range l.conversions {
		if c.PlayerID == player {
			out = append(out, c)
		}
	}
	return out, nil
}
func (l *memLedger) Entry(key string) (*Entry, error) {
	for _, e := range l.entries {
		if e.SourceKey == key {
			return &e, nil
		}
	}
	return nil, nil
}
func (l *memLedger) EventEntries(eventID string) ([]Entry, error) {
	var out []Entry
	for _, e := range l.entries {
		if e.EventID == eventID && e.AffiliateID == l.affiliateID {
			out = append(out, e)
		}
	}
	return out, nil
}
func (l *memLedger) RevShareEntries() ([]Entry, error) {
	var out []Entry
	for _, e := range l.entries {
		if e.Kind == KindRevShare && e.AffiliateID == l.affiliateID {
			out = append(out, e)
		}
	}
	return out, nil
}
func (l *memLedger) VolumePeriod(period, planID, instrument string) (VolumePeriod, error) {
	v := VolumePeriod{Period: period, PlanID: planID, Instrument: instrument}
	for _, e := range l.entries {
		if e.Kind == KindVolume && e.AffiliateID == l.affiliateID && e.Period == period && e.PlanID == planID && e.Instrument == instrument {
			v.Lots += e.BaseMinor
			v.WrittenMinor += e.AmountMinor
		}
	}
	return v, nil
}
func (l *memLedger) Rate(from, to string, _ time.Time) (int64, error) {
	r, ok := l.ratesE8[from+"/"+to]
	if !ok {
		return 0, fmt.Errorf("no rate %s/%s", from, to)
	}
	return r, nil
}

// record stores the conversion and the entries it earns, as RecordConversion does in one transaction: an
// event already recorded (a reset, replay or duplicate) had its entries written with it and writes nothing,
// and an entry whose key exists is not written again.
func (l *memLedger) record(c Recorded) []Entry {
	if _, known, _ := l.Conversion(c.ID); known {
		return nil
	}
	l.conversions = append(l.conversions, c)
	in, err := Prepare(l, l.affiliateID, l.integrationID, c)
	if err == ErrNoPlan {
		return nil
	}
	if err != nil {
		panic(err)
	}
	var written []Entry
	for _, e := range Calculate(in) {
		if existing, _ := l.Entry(e.SourceKey); existing != nil {
			continue
		}
		written = append(written, e)
		if p, ok := SubAffiliateEntry(in.Parent, e); ok {
			written = append(written, p)
		}
	}
	l.entries = append(l.entries, written...)
	return written
}

func (l *memLedger) sum(affiliateID string) int64 {
	var total int64
	for _, e := range l.entries {
		if e.AffiliateID == affiliateID {
			total += e.AmountMinor
		}
	}
	return total
}
